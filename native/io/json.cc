// Recursive-descent JSON parser (RFC 8259, strict: no comments, no trailing commas, no NaN) with a depth limit.
#include "io/json.h"

#include <cerrno>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace foldtorch::io {

JsonValue JsonValue::Bool(bool value) {
  JsonValue v(Type::kBool);
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::Number(double value, std::string text) {
  JsonValue v(Type::kNumber);
  v.number_ = value;
  v.number_text_ = std::move(text);
  return v;
}

JsonValue JsonValue::String(std::string value) {
  JsonValue v(Type::kString);
  v.string_ = std::move(value);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v(Type::kArray);
  v.array_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<std::pair<std::string, JsonValue>> members) {
  JsonValue v(Type::kObject);
  v.object_ = std::move(members);
  return v;
}

bool JsonValue::as_uint64(uint64_t* out) const {
  if (type_ != Type::kNumber || number_text_.empty() || number_text_.size() > 20) return false;
  uint64_t value = 0;
  for (char c : number_text_) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

const JsonValue* JsonValue::find(const std::string& key) const {
  for (const auto& member : object_) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const char* data, size_t length) : data_(data), length_(length) {}

  JsonValue Document() {
    JsonValue value = Value(0);
    SkipSpace();
    if (pos_ != length_) Fail("unexpected trailing characters");
    return value;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("invalid JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void SkipSpace() {
    while (pos_ < length_ && (data_[pos_] == ' ' || data_[pos_] == '\t' || data_[pos_] == '\n' || data_[pos_] == '\r'))
      ++pos_;
  }

  char Peek() {
    SkipSpace();
    if (pos_ >= length_) Fail("unexpected end of input");
    return data_[pos_];
  }

  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  void Literal(const char* word) {
    for (const char* p = word; *p; ++p, ++pos_) {
      if (pos_ >= length_ || data_[pos_] != *p) Fail(std::string("invalid literal, expected ") + word);
    }
  }

  JsonValue Value(int depth) {
    if (depth > kMaxDepth) Fail("nesting deeper than 64 levels");
    const char c = Peek();
    switch (c) {
      case '{':
        return ObjectValue(depth);
      case '[':
        return ArrayValue(depth);
      case '"':
        return JsonValue::String(StringValue());
      case 't':
        Literal("true");
        return JsonValue::Bool(true);
      case 'f':
        Literal("false");
        return JsonValue::Bool(false);
      case 'n':
        Literal("null");
        return JsonValue::Null();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return NumberValue();
        Fail(std::string("unexpected character '") + c + "'");
    }
  }

  JsonValue ObjectValue(int depth) {
    Expect('{');
    std::vector<std::pair<std::string, JsonValue>> members;
    std::set<std::string> seen;
    if (Peek() == '}') {
      ++pos_;
      return JsonValue::Object(std::move(members));
    }
    for (;;) {
      if (Peek() != '"') Fail("expected a string key");
      std::string key = StringValue();
      if (!seen.insert(key).second) Fail("duplicate key \"" + key + "\"");
      Expect(':');
      members.emplace_back(std::move(key), Value(depth + 1));
      const char next = Peek();
      ++pos_;
      if (next == '}') break;
      if (next != ',') Fail("expected ',' or '}'");
    }
    return JsonValue::Object(std::move(members));
  }

  JsonValue ArrayValue(int depth) {
    Expect('[');
    std::vector<JsonValue> items;
    if (Peek() == ']') {
      ++pos_;
      return JsonValue::Array(std::move(items));
    }
    for (;;) {
      items.push_back(Value(depth + 1));
      const char next = Peek();
      ++pos_;
      if (next == ']') break;
      if (next != ',') Fail("expected ',' or ']'");
    }
    return JsonValue::Array(std::move(items));
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t Hex4() {
    if (length_ - pos_ < 4) Fail("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = data_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9')
        value |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        value |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        value |= static_cast<uint32_t>(h - 'A' + 10);
      else
        Fail("invalid \\u escape");
    }
    return value;
  }

  std::string StringValue() {
    Expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= length_) Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(data_[pos_++]);
      if (c == '"') return out;
      if (c < 0x20) Fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= length_) Fail("unterminated escape");
      const char e = data_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = Hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (length_ - pos_ < 2 || data_[pos_] != '\\' || data_[pos_ + 1] != 'u') Fail("unpaired surrogate");
            pos_ += 2;
            const uint32_t low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) Fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            Fail("unpaired surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          Fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  JsonValue NumberValue() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < length_ && data_[pos_] >= '0' && data_[pos_] <= '9') ++pos_;
      if (pos_ == from) Fail("expected a digit");
    };
    if (data_[pos_] == '-') ++pos_;
    if (pos_ < length_ && data_[pos_] == '0') {
      ++pos_;
    } else {
      digits();
    }
    if (pos_ < length_ && data_[pos_] == '.') {
      ++pos_;
      digits();
    }
    if (pos_ < length_ && (data_[pos_] == 'e' || data_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < length_ && (data_[pos_] == '+' || data_[pos_] == '-')) ++pos_;
      digits();
    }
    std::string text(data_ + start, pos_ - start);
    errno = 0;
    const double value = std::strtod(text.c_str(), nullptr);
    return JsonValue::Number(value, std::move(text));
  }

  const char* data_;
  size_t length_;
  size_t pos_ = 0;
};

}  // namespace

JsonValue ParseJson(const char* data, size_t length) { return Parser(data, length).Document(); }

std::string JsonQuote(const std::string& text) {
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace foldtorch::io
