{
  "targets": [
    {
      "target_name": "foldtorch",
      "sources": ["<!@(node scripts/native-sources.js --all)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/libtorch.js --include-dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch.js --abi)"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti", "-fno-exceptions", "-std=gnu++17", "-std=gnu++20", "-std=c++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-O2", "-fopenmp", "-Wno-unused-parameter"],
      "libraries": [
        "-L<!(node scripts/libtorch.js --lib-dir)",
        "-Wl,--no-as-needed",
        "-ltorch",
        "-ltorch_cpu",
        "-lc10",
        "-Wl,--as-needed",
        "-Wl,-rpath,'$$ORIGIN'"
      ]
    }
  ]
}
