#!/usr/bin/env python3
"""Turns a PyTorch state_dict checkpoint into a safetensors file with renamed keys, for `foldtorch weights fetch`.

The checkpoint is read only with torch.load(..., weights_only=True): nothing else in foldtorch unpickles. The key
mapping is decided in TypeScript (src/weights/keyMapping.ts) from the key list this script reports, so the script
talks over stdio, one JSON object per line:

  python convert_checkpoint.py CHECKPOINT OUTPUT
  -> {"event": "keys", "keys": [...], "dtypes": {...}, "torch": "2.13.0"}     (stdout)
  <- {"mapping": {"source": "target", ...}, "metadata": {"k": "v", ...}}       (stdin; or {"abort": "why"})
  -> {"event": "done", "tensors": N, "bytes": B}                              (stdout)

OUTPUT is written in full and fsynced; the caller renames it into place. Errors go to stderr with exit status 1.
The safetensors bytes are written here (no safetensors package): an 8-byte little-endian header length, the JSON
header padded with spaces to a multiple of 8, then each tensor's C-order little-endian bytes, names sorted.
"""
import json
import os
import sys

# torch dtype name -> safetensors dtype code; values are kept as they are (no casts).
DTYPES = {
    "float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}


def fail(message):
    sys.stderr.write("convert_checkpoint: %s\n" % message)
    sys.exit(1)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def load_state_dict(torch, path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError as error:
        if "weights_only" in str(error):
            fail("this torch (%s) has no torch.load(weights_only=True): install torch >= 2.0" % torch.__version__)
        raise
    if not hasattr(state, "items"):
        fail("%s holds a %s, not a state_dict" % (path, type(state).__name__))
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            fail("%s: entry %r is a %s, not a tensor" % (path, key, type(value).__name__))
        if dtype_name(value) not in DTYPES:
            fail("%s: tensor %r has dtype %s, which safetensors output does not cover here" % (path, key, value.dtype))
    return state


def dtype_name(tensor):
    return str(tensor.dtype).replace("torch.", "")


def read_instructions(keys):
    line = sys.stdin.readline()
    if not line:
        fail("no key mapping received on stdin")
    message = json.loads(line)
    if "abort" in message:
        fail("stopped by the caller: %s" % message["abort"])
    mapping, metadata = message["mapping"], message.get("metadata", {})
    missing = [k for k in keys if k not in mapping]
    extra = [k for k in mapping if k not in keys]
    if missing or extra:
        fail("the key mapping does not match the checkpoint (unmapped: %s; not in the checkpoint: %s)"
             % (missing[:5], extra[:5]))
    targets = list(mapping.values())
    if len(set(targets)) != len(targets):
        fail("the key mapping sends two keys to the same name")
    if not all(isinstance(v, str) for v in metadata.values()):
        fail("safetensors metadata values must be strings")
    return mapping, metadata


def tensor_bytes(torch, tensor):
    # A fresh contiguous copy, viewed as bytes: C order, native (checked little-endian) byte order, any dtype.
    flat = tensor.detach().clone(memory_format=torch.contiguous_format).reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def write_safetensors(torch, path, tensors, metadata):
    names = sorted(tensors)
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name in names:
        tensor = tensors[name]
        size = tensor.numel() * tensor.element_size()
        header[name] = {"dtype": DTYPES[dtype_name(tensor)], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(len(encoded).to_bytes(8, "little"))
        out.write(encoded)
        for name in names:
            out.write(tensor_bytes(torch, tensors[name]))
        out.flush()
        os.fsync(out.fileno())
    return 8 + len(encoded) + offset


def main(argv):
    if len(argv) != 3:
        fail("usage: convert_checkpoint.py CHECKPOINT OUTPUT")
    checkpoint, output = argv[1], argv[2]
    if sys.byteorder != "little":
        fail("a big-endian machine: safetensors data is little-endian and this script copies native bytes")
    import torch
    try:
        import numpy  # noqa: F401  (tensor_bytes goes through numpy)
    except ImportError:
        fail("this Python has torch but no numpy: pip install numpy")
    state = load_state_dict(torch, checkpoint)
    keys = list(state.keys())
    emit({"event": "keys", "keys": keys, "dtypes": {k: DTYPES[dtype_name(v)] for k, v in state.items()},
          "torch": torch.__version__})
    mapping, metadata = read_instructions(set(keys))
    renamed = {mapping[k]: v for k, v in state.items()}
    size = write_safetensors(torch, output, renamed, metadata)
    emit({"event": "done", "tensors": len(renamed), "bytes": size})


if __name__ == "__main__":
    main(sys.argv)
