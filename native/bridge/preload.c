/*
 * The libtorch preloader: a tiny addon without libtorch that dlopens one library with RTLD_GLOBAL, so the main
 * addon (RUNPATH $ORIGIN only) finds libtorch wherever the locator found it, not where the build machine had it.
 * It is C and has its own .node because process.dlopen refuses a library that registers no module.
 */
#include <dlfcn.h>
#include <node_api.h>

#define kMaxPath 4096

static napi_value Preload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[kMaxPath];
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "preload: expected a library path (got none)");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], path, kMaxPath, &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "preload: expected a library path (got a non-string)");
    return NULL;
  }
  if (length >= kMaxPath - 1) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "preload: library path too long (over 4094 bytes)");
    return NULL;
  }
  dlerror();
  // Never closed: the libraries live as long as the process, like the addon that needs them.
  if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) {
    const char* why = dlerror();
    napi_throw_error(env, "ERR_ADDON_LOAD", why ? why : "preload: dlopen failed");
    return NULL;
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "preload", NAPI_AUTO_LENGTH, Preload, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "preload", fn) != napi_ok) return NULL;
  return exports;
}
