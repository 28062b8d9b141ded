/** `foldtorch doctor`: what libtorch, devices, threads and BLAS the addon sees, and where it was loaded from. */
import { locateTorch } from '../native/addon';
import { doctor, type DoctorResult } from '../native/runtime';

export function formatDoctor(report: DoctorResult): string {
  const cuda = report.cudaDevices.length
    ? report.cudaDevices
        .map((d) => `cuda:${d.index} ${d.name} (sm ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB)`)
        .join('; ')
    : report.builtWithCuda
      ? 'built with CUDA, no device visible'
      : 'not built with CUDA';
  return [
    `libtorch        ${report.torchVersion}${report.torchPath ? ` from ${report.torchPath}` : ''}`,
    `addon           ${report.addonPath} (${report.addonKind})`,
    `node            ${report.nodeVersion}`,
    `CUDA            ${cuda}`,
    `CPU             ${report.cpuCapability}, ${report.availableCores} cores available`,
    `bf16            CPU: ${report.bf16.cpu ? 'yes' : 'no'} (${report.bf16.cpuNative}), CUDA: ${report.bf16.cuda ? 'yes' : 'no'}`,
    `threads         intra-op ${report.intraOpThreads}, inter-op ${report.interOpThreads}, foldtorch's CPU kernels ${report.kernelThreads}${report.kernelThreads < report.intraOpThreads ? ' (fewer: an addon built without OpenMP, which `npx foldtorch build` fixes, or OMP_DYNAMIC set)' : ''}`,
    `CPU memory      ${report.cpuBlockCache.installed ? `block cache up to ${(report.cpuBlockCache.capacity / 2 ** 30).toFixed(1)} GiB idle` : "libtorch's allocator (block cache off)"} (FOLDTORCH_CPU_CACHE_MB)`,
    `BLAS            ${report.blas}${report.lapack ? ` (LAPACK ${report.lapack})` : ''}; oneDNN ${report.mkldnn ? 'yes' : 'no'}; OpenMP ${report.openmp ? 'yes' : 'no'}`,
  ].join('\n');
}

export async function doctorCommand(args: { json?: boolean }): Promise<number> {
  let report: DoctorResult;
  try {
    report = await doctor();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_ADDON_LOAD') throw error;
    // Nothing to ask the addon: say what was looked for and the command that fixes each cause.
    const torch = locateTorch();
    if (args.json)
      process.stdout.write(
        `${JSON.stringify({ ok: false, torch: torch.found, variant: torch.variant, error: (error as Error).message }, null, 2)}\n`,
      );
    else process.stdout.write(`${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
  return 0;
}
