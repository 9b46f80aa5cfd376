// Child process for the lock tests: takes the lock of the folder in argv[2], says so, and holds
// it until killed.
import { acquireLock } from '../../lib/train/run-folder';

acquireLock(process.argv[2]);
console.log('locked');
setInterval(() => {}, 1000);
