// Model lifecycle for JS: createModel (build + load on the device's compute thread), info, load reports,
// parameters and tensors, load/saveWeights, dispose; the forward calls live in model_forward.cc.
#include "bridge/model_wrap.h"

#include <ATen/ATen.h>

#include <map>
#include <mutex>
#include <set>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_state.h"
#include "bridge/options.h"
#include "bridge/safetensors_wrap.h"
#include "bridge/tensor_bridge.h"
#include "io/safetensors.h"
#include "models/registry.h"

namespace foldtorch::bridge {

namespace {

// One constructor per environment (worker threads have their own); leaked with the process.
std::mutex g_constructors_mutex;
std::map<napi_env, Napi::FunctionReference*> g_constructors;

Napi::Function Constructor(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_constructors_mutex);
  return g_constructors.at(env)->Value();
}

Napi::Array StringsToJs(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) out.Set(static_cast<uint32_t>(i), items[i]);
  return out;
}

Napi::Object PretrainedToJs(Napi::Env env, const PretrainedConfig& cfg) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array mean = Napi::Array::New(env, cfg.mean.size()), std = Napi::Array::New(env, cfg.std.size());
  for (size_t i = 0; i < cfg.mean.size(); ++i) mean.Set(static_cast<uint32_t>(i), cfg.mean[i]);
  for (size_t i = 0; i < cfg.std.size(); ++i) std.Set(static_cast<uint32_t>(i), cfg.std[i]);
  out.Set("tag", cfg.tag);
  out.Set("mean", mean);
  out.Set("std", std);
  out.Set("interpolation", cfg.interpolation);
  out.Set("imgSize", static_cast<double>(cfg.img_size));
  out.Set("cropPct", cfg.crop_pct);
  out.Set("cropMode", cfg.crop_mode);
  out.Set("numClasses", static_cast<double>(cfg.num_classes));
  return out;
}

struct CreateRequest {
  std::string name;
  CreateOptions options;
  std::string pretrained;
  c10::Device device{c10::kCPU};
  bool grad_checkpointing = false;
  bool channels_last = false;
};

CreateRequest ParseCreateRequest(const OptionReader& options) {
  CreateRequest request;
  request.name = options.String("name");
  if (options.Has("numClasses")) request.options.num_classes = options.Integer("numClasses");
  if (options.Has("imgSize")) request.options.img_size = options.Integer("imgSize");
  request.pretrained = options.String("pretrained", "");
  request.device = options.Device();
  request.grad_checkpointing = options.Bool("gradCheckpointing", false);
  request.channels_last = options.Bool("channelsLast", false);
  if (options.Has("arch")) {
    OptionReader arch(options.env(), options.Raw("arch"), "createModel options.arch");
    if (arch.Has("patchSize")) request.options.arch.patch_size = arch.Integer("patchSize");
    if (arch.Has("embedDim")) request.options.arch.embed_dim = arch.Integer("embedDim");
    if (arch.Has("depth")) request.options.arch.depth = arch.Integer("depth");
    if (arch.Has("numHeads")) request.options.arch.num_heads = arch.Integer("numHeads");
    if (arch.Has("depths")) request.options.arch.depths = arch.IntegerArray("depths");
    if (arch.Has("dims")) request.options.arch.dims = arch.IntegerArray("dims");
    if (arch.Has("mlpRatio")) request.options.arch.mlp_ratio = arch.Number("mlpRatio");
    if (arch.Has("refFeatShape")) request.options.arch.ref_feat_shape = arch.IntegerArray("refFeatShape");
    if (arch.Has("qkvFused")) request.options.arch.qkv_fused = arch.Bool("qkvFused", true);
    if (arch.Has("scaleMlp")) request.options.arch.scale_mlp = arch.Bool("scaleMlp", false);
    if (arch.Has("scaleAttnInner")) request.options.arch.scale_attn_inner = arch.Bool("scaleAttnInner", false);
    if (arch.Has("convMlp")) request.options.arch.conv_mlp = arch.Bool("convMlp", false);
  }
  return request;
}

struct Created {
  ModelHandle handle;
  LoadReport report;
};

Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "createModel options");
  CreateRequest request = ParseCreateRequest(options);
  AsyncCall<Created> call(env, request.device);
  return call.Run(
      [request] {
        Classifier model = create_model(request.name, request.options);
        LoadReport report;
        if (!request.pretrained.empty()) report = load_checkpoint(*model, request.pretrained);
        model->set_grad_checkpointing(request.grad_checkpointing);
        model->to(request.device);
        if (request.channels_last) model->set_channels_last(true);
        model->eval();
        return Created{{model, request.device}, std::move(report)};
      },
      [request](Napi::Env env, Created& created) -> Napi::Value {
        return ModelWrap::NewInstance(env, created.handle, request.name, created.report, request.channels_last);
      });
}

Napi::Value ListModels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& registry = model_registry();
  Napi::Function parse = env.Global().Get("JSON").As<Napi::Object>().Get("parse").As<Napi::Function>();
  Napi::Array out = Napi::Array::New(env, registry.size());
  for (size_t i = 0; i < registry.size(); ++i) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", registry[i].name);
    entry.Set("family", registry[i].family);
    entry.Set("args", parse.Call({Napi::String::New(env, registry[i].args_json)}));
    Napi::Array tags = Napi::Array::New(env, registry[i].tags.size());
    for (size_t t = 0; t < registry[i].tags.size(); ++t) tags.Set(static_cast<uint32_t>(t), PretrainedToJs(env, registry[i].tags[t]));
    entry.Set("tags", tags);
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

}  // namespace

Napi::Object LoadReportToJs(Napi::Env env, const LoadReport& report) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loaded", StringsToJs(env, report.loaded));
  out.Set("missing", StringsToJs(env, report.missing));
  out.Set("unexpected", StringsToJs(env, report.unexpected));
  out.Set("resampled", StringsToJs(env, report.resampled));
  out.Set("replaced", StringsToJs(env, report.replaced));
  return out;
}

void ModelWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(
      env, "Model",
      {
          InstanceMethod<&ModelWrap::Info>("info"),
          InstanceAccessor<&ModelWrap::GetLoadReport>("loadReport"),
          InstanceAccessor<&ModelWrap::IsDisposed>("disposed"),
          InstanceMethod<&ModelWrap::Forward>("forward"),
          InstanceMethod<&ModelWrap::ForwardViews>("forwardViews"),
          InstanceMethod<&ModelWrap::ForwardFloat>("forwardFloat"),
          InstanceMethod<&ModelWrap::LossAndGrads>("lossAndGrads"),
          InstanceMethod<&ModelWrap::Parameters>("parameters"),
          InstanceMethod<&ModelWrap::GetTensors>("getTensors"),
          InstanceMethod<&ModelWrap::Load>("load"),
          InstanceMethod<&ModelWrap::SaveWeights>("saveWeights"),
          InstanceMethod<&ModelWrap::Dispose>("dispose"),
          InstanceMethod<&ModelWrap::Benchmark>("benchmark"),
      });
  {
    std::lock_guard<std::mutex> lock(g_constructors_mutex);
    g_constructors[env] = new Napi::FunctionReference(Napi::Persistent(constructor));
  }
  exports.Set("Model", constructor);
  exports.Set("createModel", Napi::Function::New(env, CreateModel, "createModel"));
  exports.Set("listModels", Napi::Function::New(env, ListModels, "listModels"));
  InitSafetensorsExports(env, exports);
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    ThrowTypeError(info.Env(), "Model cannot be constructed directly: use createModel(name, options)");
  }
  state_ = *info[0].As<Napi::External<std::shared_ptr<State>>>().Data();
}

Napi::Object ModelWrap::NewInstance(Napi::Env env, ModelHandle handle, std::string name, const LoadReport& report,
                                    bool channels_last) {
  auto state = std::make_shared<State>(State{std::move(handle), std::move(name), report, channels_last});
  return Constructor(env).New({Napi::External<std::shared_ptr<State>>::New(env, &state)});
}

ModelHandle ModelWrap::Unwrap(Napi::Value value) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(Constructor(env))) {
    ThrowTypeError(env, "Expected a Model (from createModel) but received " + DescribeValue(value));
  }
  return Napi::ObjectWrap<ModelWrap>::Unwrap(value.As<Napi::Object>())->Live(env);
}

ModelHandle ModelWrap::Live(Napi::Env env) const {
  if (!state_ || !state_->handle.module) ThrowDisposed(env, "Model");
  return state_->handle;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  const auto& m = *handle.module;
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", state_->name);
  out.Set("family", m.family());
  out.Set("numClasses", static_cast<double>(m.num_classes()));
  out.Set("numFeatures", static_cast<double>(m.num_features()));
  out.Set("imgSize", static_cast<double>(m.img_size()));
  out.Set("device", handle.device.str());
  out.Set("channelsLast", state_->channels_last);
  out.Set("pretrainedConfig", PretrainedToJs(env, m.pretrained_config()));
  return out;
}

Napi::Value ModelWrap::GetLoadReport(const Napi::CallbackInfo& info) {
  Live(info.Env());
  return LoadReportToJs(info.Env(), state_->report);
}

Napi::Value ModelWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_ || !state_->handle.module);
}

Napi::Value ModelWrap::Parameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  AsyncCall<io::NamedTensors> call(env, handle.device);
  return call.Run([handle] { return state_dict(*handle.module); },
                  [](Napi::Env env, io::NamedTensors& tensors) -> Napi::Value {
                    Napi::Array out = Napi::Array::New(env, tensors.size());
                    for (size_t i = 0; i < tensors.size(); ++i) {
                      Napi::Object entry = Napi::Object::New(env);
                      Napi::Array shape = Napi::Array::New(env, tensors[i].second.dim());
                      for (int64_t d = 0; d < tensors[i].second.dim(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(tensors[i].second.size(d)));
                      entry.Set("name", tensors[i].first);
                      entry.Set("shape", shape);
                      entry.Set("dtype", io::safetensors_dtype_name(tensors[i].second.scalar_type()));
                      entry.Set("requiresGrad", tensors[i].second.requires_grad());
                      out.Set(static_cast<uint32_t>(i), entry);
                    }
                    return out;
                  });
}

Napi::Value ModelWrap::GetTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  std::vector<std::string> names;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    OptionReader options(env, info[0], "getTensors options");
    if (options.Has("names")) names = options.StringArray("names");
  }
  AsyncCall<io::NamedTensors> call(env, handle.device);
  return call.Run(
      [handle, names] {
        io::NamedTensors out;
        std::set<std::string> wanted(names.begin(), names.end());
        for (auto& [name, tensor] : state_dict(*handle.module)) {
          if (wanted.empty() || wanted.erase(name)) out.emplace_back(name, ToHostFloat(tensor));
        }
        TORCH_CHECK_VALUE(wanted.empty(), "Model.getTensors: no parameter named '", *wanted.begin(), "'");
        return out;
      },
      [](Napi::Env env, io::NamedTensors& tensors) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        for (auto& [name, tensor] : tensors) out.Set(name, HostTensorToJs(env, tensor));
        return out;
      });
}

Napi::Value ModelWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  if (info.Length() < 1 || !info[0].IsString()) ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  auto state = state_;
  AsyncCall<LoadReport> call(env, handle.device);
  return call.Run([handle, path] { return load_checkpoint(*handle.module, path); },
                  [state](Napi::Env env, LoadReport& report) -> Napi::Value {
                    state->report = report;
                    return LoadReportToJs(env, report);
                  });
}

Napi::Value ModelWrap::SaveWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  if (info.Length() < 1 || !info[0].IsString()) ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"foldtorch_model", state_->name}};
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object extra = info[1].As<Napi::Object>();
    Napi::Array keys = extra.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      Napi::Value value = extra.Get(keys.Get(i));
      if (!value.IsString()) ThrowTypeError(env, "Expected string values for saveWeights metadata but received " + DescribeValue(value));
      metadata[keys.Get(i).ToString().Utf8Value()] = value.As<Napi::String>().Utf8Value();
    }
  }
  AsyncCall<bool> call(env, handle.device);
  return call.Run(
      [handle, path, metadata] {
        io::save_safetensors(path, state_dict(*handle.module), metadata);
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  // Calls already queued hold their own reference to the module and finish normally.
  if (state_) state_->handle.module.reset();
  return info.Env().Undefined();
}

}  // namespace foldtorch::bridge
