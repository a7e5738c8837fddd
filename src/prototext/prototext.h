// Reading protobuf text format (chasquid's config, users files and queue
// items are all protobuf text): the first parse error, with its position
// counted the way editors count (from 1), for the loaders' error texts.
#pragma once

#include <string>

#include <google/protobuf/io/tokenizer.h>

namespace chasquid::prototext {

// Keeps the first error the text parser reports; warnings are ignored.
// Not thread-safe (one per parse).
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override;
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}

  bool any() const { return any_; }
  // 1-based, as editors show them.
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }
  // "<line>:<column>: <message>", or "" when there was no error.
  std::string Text() const;

 private:
  bool any_ = false;
  int line_ = 0, column_ = 0;
  std::string message_;
};

}  // namespace chasquid::prototext
