export * from './config';
export * from './trainer';
export { satStep, type StepOptions, type StepResult } from './step';
export { Sgd } from './optimizer';
export { learningRate, type ScheduleConfig } from './schedule';
