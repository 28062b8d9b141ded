// A small strict JSON reader and writer for safetensors headers (no third-party JSON library is assumed).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace foldtorch::io {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  JsonValue() = default;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_number() const { return type_ == Type::kNumber; }

  const std::string& as_string() const { return string_; }
  bool as_bool() const { return bool_; }
  double as_double() const { return number_; }
  // The number as a non-negative integer, when its text was one exactly (no sign, fraction or exponent) and
  // fits in 64 bits; false otherwise.
  bool as_uint64(uint64_t* out) const;
  const std::vector<JsonValue>& items() const { return array_; }
  // Members in file order; duplicate keys are rejected by the parser.
  const std::vector<std::pair<std::string, JsonValue>>& members() const { return object_; }
  const JsonValue* find(const std::string& key) const;

  static JsonValue Null() { return JsonValue(Type::kNull); }
  static JsonValue Bool(bool value);
  static JsonValue Number(double value, std::string text);
  static JsonValue String(std::string value);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<std::pair<std::string, JsonValue>> members);

 private:
  explicit JsonValue(Type type) : type_(type) {}
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string number_text_;
  std::string string_;
  std::vector<JsonValue> array_;
  std::vector<std::pair<std::string, JsonValue>> object_;
};

// Parses one JSON document (UTF-8). Throws std::runtime_error("... at byte N") on any syntax error, on nesting
// deeper than 64 levels and on duplicate object keys.
JsonValue ParseJson(const char* data, size_t length);

// Quotes and escapes a string as a JSON string literal.
std::string JsonQuote(const std::string& text);

}  // namespace foldtorch::io
