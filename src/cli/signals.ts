/** Ctrl-C handling for long commands: the first SIGINT asks training to stop after saving; the second exits. */
export function stopOnSigint(): { shouldStop: () => boolean; dispose: () => void } {
  let requested = false;
  const handler = () => {
    if (requested) {
      process.stderr.write('\nfoldtorch: second Ctrl-C, exiting without waiting\n');
      process.exit(130);
    }
    requested = true;
    process.stderr.write('\nfoldtorch: stopping after the current step (saving a checkpoint); Ctrl-C again to exit now\n');
  };
  process.on('SIGINT', handler);
  return { shouldStop: () => requested, dispose: () => process.off('SIGINT', handler) };
}
