#include "prototext/prototext.h"

namespace chasquid::prototext {

void FirstError::AddError(int line, google::protobuf::io::ColumnNumber column,
                          const std::string& message) {
  if (any_) return;
  any_ = true;
  // The parser counts from 0.
  line_ = line + 1;
  column_ = column + 1;
  message_ = message;
}

std::string FirstError::Text() const {
  if (!any_) return "";
  return std::to_string(line_)
      .append(":")
      .append(std::to_string(column_))
      .append(": ")
      .append(message_);
}

}  // namespace chasquid::prototext
