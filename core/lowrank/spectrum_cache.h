#pragma once
// Spectra cached on disk per model and layer (ResultCache kind "spectra"), so
// reopening a model, or asking for other layers, only computes what is new.
// The key holds the model folder, its size and modification time, the layer
// and the spectrum options: a rewritten checkpoint misses the cache.
#include "spectrum.h"

namespace tailor {

class ModelSession;

std::vector<LayerSpectrum> cachedSpectra(const ModelSession& session, const std::vector<std::string>& layers,
                                         const ProgressFn& progress = {}, const SpectrumOptions& opt = {});

} // namespace tailor
