#pragma once
// A JSON object read from a file, with errors that name the file and say
// where the JSON breaks. Plans, mixed-precision plans and tokenizer files use it.
#include <QJsonObject>
#include <string>

namespace tailor {

// `what` names the file's role in the "cannot read" message ("the plan").
QJsonObject readJsonObject(const std::string& path, const std::string& what);

} // namespace tailor
