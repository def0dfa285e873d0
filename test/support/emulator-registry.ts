/**
 * The emulator processes of one test file. A process starts on first use and is shared by
 * every test of the file; `stopEmulators` (run by the setup file `stop-emulators.ts` once the
 * file's own hooks are done) stops them all, so none outlives its file. Nothing here imports
 * the AWS SDK: every test file loads this module through the setup file.
 */
export interface EmulatorProcess {
  endpoint: string;
  stop(): Promise<void>;
}

const running = new Map<string, Promise<EmulatorProcess>>();

/** The running process under `key`, started with `start` if there is none (or the last start failed). */
export function sharedEmulator(key: string, start: () => Promise<EmulatorProcess>): Promise<EmulatorProcess> {
  let process = running.get(key);
  if (!process) {
    process = start();
    running.set(key, process);
    process.catch(() => running.delete(key));
  }
  return process;
}

export async function stopEmulators(): Promise<void> {
  const all = [...running.values()];
  running.clear();
  await Promise.all(all.map((p) => p.then((emulator) => emulator.stop()).catch(() => undefined)));
}
