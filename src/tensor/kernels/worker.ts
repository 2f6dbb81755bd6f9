// Worker side of the kernel thread pool (see parallel.ts for the protocol). Imports every module
// that registers parallel tasks, signals READY, then serves jobs until the process exits.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { COUNT, DONE, FAILED, GEN, NEXT, READY, getTask, markWorkerThread } from './parallel.ts';
import './conv2d.ts';
import './conv2d-sparse.ts';
import './gemm.ts';
import './winograd.ts';
import './winograd6.ts';
import './pool.ts';
import './elementwise.ts';
import './optim.ts';
import './pow2.ts';

const { ctrl, errBuf, port } = workerData as {
  ctrl: Int32Array;
  errBuf: Int32Array;
  port: MessagePort;
};
markWorkerThread();

function report(e: unknown): void {
  const text = String((e as Error)?.stack ?? e);
  const n = Math.min(text.length, errBuf.length - 1);
  for (let i = 0; i < n; i++) errBuf[i + 1] = text.charCodeAt(i);
  Atomics.store(errBuf, 0, n);
  Atomics.store(ctrl, FAILED, 1);
}

let seen = Atomics.load(ctrl, GEN);
Atomics.add(ctrl, READY, 1);
Atomics.notify(ctrl, READY);

for (;;) {
  Atomics.wait(ctrl, GEN, seen);
  const gen = Atomics.load(ctrl, GEN);
  if (gen === seen) continue;
  seen = gen;
  let msg = receiveMessageOnPort(port);
  while (msg === undefined) {
    Atomics.wait(ctrl, GEN, gen, 1); // the message is posted before GEN moves; never expected
    msg = receiveMessageOnPort(port);
  }
  const job = msg.message as { name?: string; args?: unknown[]; active: boolean };
  if (job.active) {
    try {
      const fn = getTask(job.name!);
      const n = Atomics.load(ctrl, COUNT);
      for (let c = Atomics.add(ctrl, NEXT, 1); c < n; c = Atomics.add(ctrl, NEXT, 1)) {
        fn(job.args!, c);
      }
    } catch (e) {
      report(e);
      Atomics.store(ctrl, NEXT, Atomics.load(ctrl, COUNT));
    }
  }
  Atomics.add(ctrl, DONE, 1);
  Atomics.notify(ctrl, DONE);
}
