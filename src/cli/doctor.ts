/** `foldtorch doctor`: what libtorch, devices, threads and BLAS the addon sees, and where it was loaded from. */
import { doctor, type DoctorResult } from '../native/runtime';

export function formatDoctor(report: DoctorResult): string {
  const cuda = report.cudaDevices.length
    ? report.cudaDevices.map((d) => `cuda:${d.index} ${d.name} (sm ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB)`).join('; ')
    : report.builtWithCuda ? 'built with CUDA, no device visible' : 'not built with CUDA';
  return [
    `libtorch        ${report.torchVersion}`,
    `addon           ${report.addonPath} (${report.addonKind})`,
    `node            ${report.nodeVersion}`,
    `CUDA            ${cuda}`,
    `CPU             ${report.cpuCapability}, ${report.availableCores} cores available`,
    `bf16            CPU: ${report.bf16.cpu ? 'yes' : 'no'} (${report.bf16.cpuNative}), CUDA: ${report.bf16.cuda ? 'yes' : 'no'}`,
    `threads         intra-op ${report.intraOpThreads}, inter-op ${report.interOpThreads}`,
    `CPU memory      ${report.cpuBlockCache.installed ? `block cache up to ${(report.cpuBlockCache.capacity / 2 ** 30).toFixed(1)} GiB idle` : "libtorch's allocator (block cache off)"} (FOLDTORCH_CPU_CACHE_MB)`,
    `BLAS            ${report.blas}${report.lapack ? ` (LAPACK ${report.lapack})` : ''}; oneDNN ${report.mkldnn ? 'yes' : 'no'}; OpenMP ${report.openmp ? 'yes' : 'no'}`,
  ].join('\n');
}

export async function doctorCommand(args: { json?: boolean }): Promise<void> {
  const report = await doctor();
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatDoctor(report)}\n`);
  }
}
