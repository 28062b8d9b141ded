// Model lifecycle for JS: createModel (build + load on the device's compute thread), info, load reports,
// parameters and tensors, load/saveWeights, dispose; the forward calls live in model_forward.cc.
#include "bridge/model_wrap.h"

#include <ATen/ATen.h>

#include <map>
#include <mutex>
#include <set>

#include "bridge/compute_thread.h"
#include "compat.h"
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

std::string CamelCase(const std::string& name) {
  std::string out;
  bool upper = false;
  for (char ch : name) {
    if (ch == '_') {
      upper = true;
    } else {
      out += upper && ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
      upper = false;
    }
  }
  return out;
}

// The overrides a family takes: [{name (camelCase), kind, length}].
Napi::Array ArchKeysToJs(Napi::Env env, const std::vector<ArchKey>& keys) {
  static const char* kKinds[] = {"integer", "number", "boolean", "integers"};
  Napi::Array out = Napi::Array::New(env, keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    Napi::Object key = Napi::Object::New(env);
    key.Set("name", CamelCase(keys[i].name));
    key.Set("kind", kKinds[static_cast<int>(keys[i].kind)]);
    key.Set("length", static_cast<double>(keys[i].length));
    out.Set(static_cast<uint32_t>(i), key);
  }
  return out;
}

Napi::Array SizeToJs(Napi::Env env, const ImageSize& size) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, static_cast<double>(size.height));
  out.Set(1u, static_cast<double>(size.width));
  return out;
}

struct CreateRequest {
  std::string name;
  CreateOptions options;
  std::string pretrained;
  c10::Device device{c10::kCPU};
  bool grad_checkpointing = false;
  bool channels_last = false;
  bool channels_last_given = false;  // else the model's preference
  bool reset_classifier = false;     // a fresh classifier after loading (timm's reset_classifier), not the model's init
  bool freeze_batch_norm = false;
};

// "embedDim" → "embed_dim": JS takes timm's keywords in camelCase.
std::string SnakeCase(const std::string& name) {
  std::string out;
  for (char ch : name) {
    if (ch >= 'A' && ch <= 'Z') {
      out += '_';
      out += static_cast<char>(ch - 'A' + 'a');
    } else {
      out += ch;
    }
  }
  return out;
}

// Numbers, booleans and number arrays pass as they are; create_model checks them against the family's keys.
ArchOverrides ParseArch(Napi::Env env, Napi::Value value) {
  if (!value.IsObject())
    ThrowTypeError(env, "Expected an object for createModel options.arch but received " + DescribeValue(value));
  ArchOverrides arch;
  Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value item = object.Get(key);
    if (item.IsUndefined()) continue;
    if (item.IsBoolean()) {
      arch.set(SnakeCase(key), item.As<Napi::Boolean>().Value());
    } else if (item.IsNumber()) {
      arch.set(SnakeCase(key), item.As<Napi::Number>().DoubleValue());
    } else if (item.IsArray()) {
      Napi::Array array = item.As<Napi::Array>();
      std::vector<double> list;
      for (uint32_t j = 0; j < array.Length(); ++j) {
        Napi::Value entry = array.Get(j);
        if (!entry.IsNumber())
          ThrowTypeError(env, "Expected numbers in arch." + key + " but received " + DescribeValue(entry));
        list.push_back(entry.As<Napi::Number>().DoubleValue());
      }
      arch.set(SnakeCase(key), std::move(list));
    } else {
      ThrowTypeError(
          env, "Expected a number, boolean or number array for arch." + key + " but received " + DescribeValue(item));
    }
  }
  return arch;
}

CreateRequest ParseCreateRequest(const OptionReader& options) {
  CreateRequest request;
  request.name = options.String("name");
  if (options.Has("numClasses")) request.options.num_classes = options.Integer("numClasses");
  if (options.Has("imgSize")) {
    if (options.Raw("imgSize").IsNumber()) {
      const int64_t side = options.Integer("imgSize");
      request.options.img_size = ImageSize{side, side};
    } else {
      const auto size = options.IntegerArray("imgSize");
      if (size.size() != 2)
        ThrowTypeError(options.env(), "Expected a side or [height, width] for createModel options.imgSize");
      request.options.img_size = ImageSize{size[0], size[1]};
    }
  }
  request.pretrained = options.String("pretrained", "");
  request.device = options.Device();
  request.grad_checkpointing = options.Bool("gradCheckpointing", false);
  request.channels_last_given = options.Has("channelsLast");
  request.channels_last = options.Bool("channelsLast", false);
  request.reset_classifier = options.Bool("resetClassifier", false);
  request.freeze_batch_norm = options.Bool("freezeBatchNorm", false);
  if (options.Has("arch")) request.options.arch = ParseArch(options.env(), options.Raw("arch"));
  return request;
}

struct Created {
  ModelHandle handle;
  LoadReport report;
  bool channels_last = false;
};

Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "createModel options");
  CreateRequest request = ParseCreateRequest(options);
  AsyncCall<Created> call(env, request.device, "building the model");
  return call.Run(
      [request] {
        Classifier model = create_model(request.name, request.options);
        LoadReport report;
        if (!request.pretrained.empty()) report = load_checkpoint(*model, request.pretrained);
        if (request.reset_classifier) model->reset_classifier(model->num_classes());
        if (request.grad_checkpointing) model->set_grad_checkpointing(true);
        if (request.freeze_batch_norm) model->set_batch_norm_frozen(true);
        model->to(request.device);
        const bool channels_last = request.channels_last_given ? request.channels_last : model->prefers_channels_last();
        if (channels_last) model->set_channels_last(true);
        model->eval();
        return Created{{model, request.device}, std::move(report), channels_last};
      },
      [request](Napi::Env env, Created& created) -> Napi::Value {
        return ModelWrap::NewInstance(env, created.handle, request.name, created.report, created.channels_last);
      });
}

struct MemoryFigures {
  MemoryEstimate estimate;
  double available_bytes = 0;
};

// createModel's options plus batchSize: what the model would hold and a training step keep, and what the device
// has free; nothing is built. On the device's compute thread (the first CUDA query initialises the driver).
Napi::Value EstimateMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // createModel's own options (checked before it), so their errors read the same.
  OptionReader options(env, info[0], "createModel options");
  const CreateRequest request = ParseCreateRequest(options);
  const int64_t batch = options.Integer("batchSize", 1);
  AsyncCall<MemoryFigures> call(env, request.device);
  return call.Run(
      [request, batch] {
        return MemoryFigures{estimate_model_memory(request.name, request.options, batch, request.grad_checkpointing),
                             compat::available_memory(request.device)};
      },
      [](Napi::Env env, MemoryFigures& figures) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("parameters", figures.estimate.parameters);
        out.Set("buffers", figures.estimate.buffers);
        out.Set("activations", figures.estimate.activations);
        out.Set("availableBytes", figures.available_bytes);
        return out;
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
    for (size_t t = 0; t < registry[i].tags.size(); ++t)
      tags.Set(static_cast<uint32_t>(t), PretrainedToJs(env, registry[i].tags[t]));
    entry.Set("tags", tags);
    entry.Set("archKeys", ArchKeysToJs(env, find_family(registry[i].family).arch_keys));
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
  Napi::Function constructor = DefineClass(env, "Model",
                                           {
                                               InstanceMethod<&ModelWrap::Info>("info"),
                                               InstanceAccessor<&ModelWrap::GetLoadReport>("loadReport"),
                                               InstanceAccessor<&ModelWrap::IsDisposed>("disposed"),
                                               InstanceMethod<&ModelWrap::Forward>("forward"),
                                               InstanceMethod<&ModelWrap::ForwardViews>("forwardViews"),
                                               InstanceMethod<&ModelWrap::ForwardFloat>("forwardFloat"),
                                               InstanceMethod<&ModelWrap::LossAndGrads>("lossAndGrads"),
                                               InstanceMethod<&ModelWrap::GradCam>("gradCam"),
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
  exports.Set("estimateMemory", Napi::Function::New(env, EstimateMemory, "estimateMemory"));
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
  out.Set("imgSize", SizeToJs(env, m.img_size()));
  const InputRules rules = m.input_rules();
  Napi::Object input = Napi::Object::New(env);
  input.Set("size", SizeToJs(env, rules.size));
  input.Set("fixedSize", rules.fixed_size);
  input.Set("minSize", static_cast<double>(rules.min_size));
  input.Set("sizeMultiple", static_cast<double>(rules.size_multiple));
  input.Set("channelsLast", rules.channels_last);
  out.Set("input", input);
  const auto stages = m.parameter_stages();
  Napi::Array groups = Napi::Array::New(env, stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    Napi::Object group = Napi::Object::New(env);
    group.Set("name", stages[i].first);
    group.Set("pattern", stages[i].second);
    groups.Set(static_cast<uint32_t>(i), group);
  }
  out.Set("parameterStages", groups);
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
  struct Listing {
    io::NamedTensors tensors;
    std::set<std::string> buffers;
  };
  AsyncCall<Listing> call(env, handle.device);
  return call.Run(
      [handle] {
        Listing listing{state_dict(*handle.module), {}};
        for (const auto& b : handle.module->named_buffers()) listing.buffers.insert(b.key());
        return listing;
      },
      [](Napi::Env env, Listing& listing) -> Napi::Value {
        auto& tensors = listing.tensors;
        Napi::Array out = Napi::Array::New(env, tensors.size());
        for (size_t i = 0; i < tensors.size(); ++i) {
          Napi::Object entry = Napi::Object::New(env);
          Napi::Array shape = Napi::Array::New(env, tensors[i].second.dim());
          for (int64_t d = 0; d < tensors[i].second.dim(); ++d)
            shape.Set(static_cast<uint32_t>(d), static_cast<double>(tensors[i].second.size(d)));
          entry.Set("name", tensors[i].first);
          entry.Set("shape", shape);
          entry.Set("dtype", io::safetensors_dtype_name(tensors[i].second.scalar_type()));
          entry.Set("requiresGrad", tensors[i].second.requires_grad());
          entry.Set("buffer", listing.buffers.count(tensors[i].first) > 0);
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
        const bool everything = names.empty();  // decided once: `wanted` empties as the names are found
        for (auto& [name, tensor] : state_dict(*handle.module)) {
          if (everything || wanted.erase(name)) out.emplace_back(name, ToHostFloat(tensor));
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
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
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
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::map<std::string, std::string> metadata{{"format", "pt"}, {"foldtorch_model", state_->name}};
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object extra = info[1].As<Napi::Object>();
    Napi::Array keys = extra.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      Napi::Value value = extra.Get(keys.Get(i));
      if (!value.IsString())
        ThrowTypeError(env, "Expected string values for saveWeights metadata but received " + DescribeValue(value));
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
