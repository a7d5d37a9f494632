#include "file_comparison.h"
#include "core/model/arch_table.h"
#include "core/model/model.h"
#include "core/model/model_session.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "core/util/token_windows.h"

#include <QFileInfo>

#include <algorithm>
#include <map>

namespace tailor {

ComparedFile describeFile(const ModelSession& s)
{
    ComparedFile f;
    f.path = s.dir();
    f.file_bytes = s.summary().file_bytes;
    std::map<std::string, uint64_t> byType;
    uint64_t linearBytes = 0;
    int64_t linearWeights = 0;
    for (const auto& [name, t] : s.model().checkpoint().tensors()) {
        f.weight_bytes += t.info->bytes;
        if (blockIndexOfTensor(name) >= 0 && t.info->shape.size() == 2) {
            linearBytes += t.info->bytes;
            linearWeights += t.info->numel();
        }
        byType[t.ggml ? gguf::typeName(*t.ggml) : dtypeName(t.info->dtype)] += t.info->bytes;
    }
    f.parameters = s.model().config().totalParameters();
    f.linear_bpw = linearWeights > 0 ? 8.0 * double(linearBytes) / double(linearWeights) : 0;
    f.bpw = f.parameters > 0 ? 8.0 * double(f.weight_bytes) / double(f.parameters) : 0;
    f.main_type = std::max_element(byType.begin(), byType.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
    return f;
}

std::vector<ComparedFile> compareFiles(const ModelSession& base, const std::vector<std::string>& files, const std::string& text,
                                       const FileComparisonOptions& opt, const ProgressFn& progress)
{
    if (files.empty())
        throw Error("compare: no files to compare with the base");
    std::vector<ComparedFile> out;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto s = ModelSession::open(files[i]);
        if (!sameVocabulary(base.tokenizer(), s->tokenizer()))
            throw Error(files[i] + ": its vocabulary differs from the base's (" + base.dir() + "): KL divergence needs the same token space");
        ComparedFile f = describeFile(*s);
        f.path = files[i];
        const TokenWindows w = cutWindows(s->tokenizeFile(text), opt.seq_len, opt.max_windows, opt.text_label);
        FidelityOptions fo;
        fo.batch_tokens = opt.batch_tokens;
        fo.int8_products = opt.int8_products;
        const double from = double(i) / double(files.size()), span = 1.0 / double(files.size());
        const std::string name = QFileInfo(QString::fromStdString(files[i])).fileName().toStdString();
        f.fidelity = compareToBase(base.model(), s->model(), w, fo, [&](const Progress& p) {
            return !progress || progress({from + span * p.fraction, name + ": " + p.stage});
        });
        out.push_back(std::move(f));
    }
    std::stable_sort(out.begin(), out.end(), [](const ComparedFile& a, const ComparedFile& b) { return a.file_bytes < b.file_bytes; });
    return out;
}

} // namespace tailor
