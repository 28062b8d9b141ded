// Must not compile: proves the consumer's type check sees the package's real types (a wrong option type fails).
import { predictRun } from 'foldtorch';

await predictRun({ run: 1, data: 'data' });
