#pragma once
// JSON forms of engine results. The CLI prints them (`--json`), the GUI caches
// them; keys are stable because scripts depend on them.
#include "core/model/model_session.h"
#include "perplexity.h"

#include <QJsonObject>

namespace tailor {

// A score as JSON: null when it is not a finite number (not computed, NaN, Inf).
QJsonValue jsonNumber(double v);

QJsonObject toJson(const EvalResult& r);
QJsonObject toJson(const ModelSummary& s, bool withTensors = true);

} // namespace tailor
