#pragma once
// Whole-file writes that never leave a half-written file: QSaveFile writes a
// temporary file and renames it over the target on success. Errors name the path.
#include <QByteArray>
#include <string>

namespace tailor {

void writeFileAtomically(const std::string& path, const QByteArray& bytes);

} // namespace tailor
