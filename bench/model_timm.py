"""timm's side of bench/model.ts: one configuration of a model's forward or training steps, as JSON on stdout.

Runs in a dev-only venv holding timm and the same torch as the addon (see bench/model.ts). The torchvision wheel
there cannot load its ops over CPU torch; timm imports a few names from it at import time (none used by EVA-02 or
EfficientNet), so a stub stands in when the real package fails to import.
"""
import argparse
import importlib.abc
import importlib.util
import json
import resource
import sys
import time
import types


class _Placeholder(type):
    """Any torchvision name timm touches at import time: attribute access and calls give more placeholders."""

    def __getattr__(cls, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _Placeholder(name, (), {})

    def __call__(cls, *args, **kwargs):
        return _Placeholder('instance', (), {})


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _Placeholder(name, (), {})


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == 'torchvision' or fullname.startswith('torchvision.'):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def stub_torchvision():
    """Uses the real torchvision when it imports; otherwise placeholders for every torchvision module."""
    try:
        import torchvision  # noqa: F401
        return False
    except Exception:
        for name in list(sys.modules):
            if name == 'torchvision' or name.startswith('torchvision.'):
                del sys.modules[name]
    sys.meta_path.insert(0, _StubFinder())
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', default='eva02_tiny_patch14_224')
    parser.add_argument('--kwargs', default='{}', help='create_model keywords as JSON, e.g. {"img_size": 112} for a ViT')
    parser.add_argument('--img-size', type=int, required=True)
    parser.add_argument('--batch', type=int, required=True)
    parser.add_argument('--mode', choices=['forward', 'train'], required=True)
    parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='float32')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iterations', type=int, default=3)
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--channels-last', action='store_true', help='model and input in torch.channels_last')
    args = parser.parse_args()

    stubbed = stub_torchvision()
    import torch
    import torch.nn.functional as F
    import timm

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = timm.create_model(args.model, pretrained=False, num_classes=2, **json.loads(args.kwargs))
    x = torch.randn(args.batch, 3, args.img_size, args.img_size)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (args.batch,))
    autocast = args.precision == 'bfloat16'
    # PyTorch's fused AdamW, as the addon's bench steps it: the bench times models, and the default per-tensor loop
    # adds hundreds of tiny parallel regions a step whose cost depends on the OpenMP wait policy more than the model.
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True) if args.mode == 'train' else None
    model.train(args.mode == 'train')

    def step():
        if args.mode == 'forward':
            with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
                model(x)
            return
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds, cpu_seconds = [], []
    for i in range(args.warmup + args.iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
            cpu_seconds.append(time.process_time() - cpu_start)
    print(json.dumps({
        'seconds': seconds,
        'cpu_seconds': cpu_seconds,
        'peak_rss_bytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        'torch': torch.__version__,
        'timm': timm.__version__,
        'threads': torch.get_num_threads(),
        'torchvision_stubbed': stubbed,
        'channels_last': args.channels_last,
    }))


if __name__ == '__main__':
    main()
