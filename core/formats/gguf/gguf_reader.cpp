#include "gguf_reader.h"
#include "ggml_quants.h"
#include "core/util/error.h"

#include <QFile>
#include <algorithm>
#include <cstring>

namespace tailor::gguf {

namespace {
// A bounds-checked cursor over the mapped file.
class Cursor {
public:
    Cursor(const uint8_t* p, uint64_t size, const std::string& path) : p_(p), size_(size), path_(path) {}
    template <class T>
    T get(const std::string& what)
    {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string string(const std::string& what)
    {
        const uint64_t n = get<uint64_t>(what);
        need(n, what);
        std::string s(reinterpret_cast<const char*>(p_ + pos_), std::size_t(n));
        pos_ += n;
        return s;
    }
    void need(uint64_t n, const std::string& what) const
    {
        if (n > size_ - pos_)
            throw Error(path_ + ": " + what + " runs past the end of the file (truncated or damaged)");
    }
    uint64_t pos() const { return pos_; }
    uint64_t left() const { return size_ - pos_; }

private:
    const uint8_t* p_;
    uint64_t size_, pos_ = 0;
    const std::string& path_;
};

uint64_t scalarSize(ValueType t)
{
    switch (t) {
    case ValueType::UInt8: case ValueType::Int8: case ValueType::Bool: return 1;
    case ValueType::UInt16: case ValueType::Int16: return 2;
    case ValueType::UInt32: case ValueType::Int32: case ValueType::Float32: return 4;
    case ValueType::UInt64: case ValueType::Int64: case ValueType::Float64: return 8;
    default: return 0;
    }
}

QVariant readScalar(Cursor& c, ValueType t, const std::string& what)
{
    switch (t) {
    case ValueType::UInt8: return QVariant(qint64(c.get<uint8_t>(what)));
    case ValueType::Int8: return QVariant(qint64(c.get<int8_t>(what)));
    case ValueType::UInt16: return QVariant(qint64(c.get<uint16_t>(what)));
    case ValueType::Int16: return QVariant(qint64(c.get<int16_t>(what)));
    case ValueType::UInt32: return QVariant(qint64(c.get<uint32_t>(what)));
    case ValueType::Int32: return QVariant(qint64(c.get<int32_t>(what)));
    case ValueType::Float32: return QVariant(double(c.get<float>(what)));
    case ValueType::Bool: {
        const uint8_t b = c.get<uint8_t>(what);
        if (b > 1)
            throw Error(what + ": a bool that is neither 0 nor 1");
        return QVariant(b == 1);
    }
    case ValueType::UInt64: return QVariant(quint64(c.get<uint64_t>(what)));
    case ValueType::Int64: return QVariant(qint64(c.get<int64_t>(what)));
    case ValueType::Float64: return QVariant(c.get<double>(what));
    case ValueType::String: return QVariant(QString::fromStdString(c.string(what)));
    default: throw Error(what + ": unknown value type " + std::to_string(uint32_t(t)));
    }
}

} // namespace

int64_t TensorInfo::elements() const
{
    int64_t n = 1;
    for (int64_t d : ne)
        n *= d;
    return n;
}

File::~File() = default;

std::shared_ptr<File> File::open(const std::string& path)
{
    std::shared_ptr<File> f(new File);
    f->path_ = path;
    f->file_ = std::make_unique<QFile>(QString::fromStdString(path));
    if (!f->file_->open(QIODevice::ReadOnly))
        throw Error(path + ": cannot open (" + f->file_->errorString().toStdString() + ")");
    f->size_ = uint64_t(f->file_->size());
    if (f->size_ < 24)
        throw Error(path + ": too short for a GGUF header");
    f->map_ = f->file_->map(0, qint64(f->size_));
    if (!f->map_)
        throw Error(path + ": cannot map the file");
    Cursor c(f->map_, f->size_, f->path_);
    if (c.get<uint32_t>("magic") != kMagic)
        throw Error(path + ": not a GGUF file (bad magic)");
    f->version_ = c.get<uint32_t>("version");
    if (f->version_ != 3)
        throw Error(path + ": GGUF version " + std::to_string(f->version_) + " (only version 3 is read)");
    const uint64_t nTensors = c.get<uint64_t>("tensor count"), nKv = c.get<uint64_t>("metadata count");
    // every key/value takes at least 12 bytes and every tensor info 24: counts beyond that are lies
    if (nKv > c.left() / 12 || nTensors > c.left() / 24)
        throw Error(path + ": tensor or metadata count larger than the file can hold");
    for (uint64_t i = 0; i < nKv; ++i) {
        KeyValue kv;
        kv.key = c.string("key of metadata entry " + std::to_string(i));
        const std::string what = path + ": metadata '" + kv.key + "'";
        kv.type = ValueType(c.get<uint32_t>(what));
        if (kv.type == ValueType::Array) {
            kv.element_type = ValueType(c.get<uint32_t>(what));
            const uint64_t n = c.get<uint64_t>(what);
            if (kv.element_type == ValueType::Array)
                throw Error(what + ": arrays of arrays are not read");
            const uint64_t minSize = kv.element_type == ValueType::String ? 8 : scalarSize(kv.element_type);
            if (minSize == 0)
                throw Error(what + ": unknown array element type " + std::to_string(uint32_t(kv.element_type)));
            if (n > c.left() / minSize)
                throw Error(what + ": array of " + std::to_string(n) + " elements runs past the end of the file");
            QVariantList list;
            list.reserve(qsizetype(n));
            for (uint64_t j = 0; j < n; ++j)
                list.append(readScalar(c, kv.element_type, what));
            kv.value = list;
        } else
            kv.value = readScalar(c, kv.type, what);
        if (kv.key == "general.alignment") {
            if (kv.type != ValueType::UInt32 || kv.value.toULongLong() == 0 || (kv.value.toULongLong() & (kv.value.toULongLong() - 1)))
                throw Error(what + ": must be a uint32 power of two");
            f->alignment_ = uint32_t(kv.value.toULongLong());
        }
        f->kv_.push_back(std::move(kv));
    }
    for (uint64_t i = 0; i < nTensors; ++i) {
        TensorInfo t;
        t.name = c.string("name of tensor " + std::to_string(i));
        const std::string what = path + ": tensor '" + t.name + "'";
        const uint32_t nd = c.get<uint32_t>(what);
        if (nd < 1 || nd > 4)
            throw Error(what + ": " + std::to_string(nd) + " dimensions (1 to 4 allowed)");
        int64_t elements = 1;
        for (uint32_t d = 0; d < nd; ++d) {
            const uint64_t n = c.get<uint64_t>(what);
            if (n == 0 || n > (uint64_t(1) << 40) || elements > (int64_t(1) << 42) / int64_t(n))
                throw Error(what + ": dimension " + std::to_string(n) + " is out of range");
            t.ne.push_back(int64_t(n));
            elements *= int64_t(n);
        }
        const uint32_t type = c.get<uint32_t>(what);
        if (!knownType(type))
            throw Error(what + ": ggml type " + std::to_string(type) + " is not one Tailor reads (" + typeNames() + ")");
        t.type = TensorType(type);
        if (t.ne[0] % blockSize(t.type) != 0)
            throw Error(what + ": " + typeName(t.type) + " rows must hold a multiple of " + std::to_string(blockSize(t.type)) +
                        " elements");
        t.offset = c.get<uint64_t>(what);
        t.bytes = rowBytes(t.type, t.ne[0]) * (elements / t.ne[0]);
        f->tensors_.push_back(std::move(t));
    }
    f->dataStart_ = (c.pos() + f->alignment_ - 1) / f->alignment_ * f->alignment_;
    std::vector<const TensorInfo*> order;
    for (const auto& t : f->tensors_) {
        const std::string what = path + ": tensor '" + t.name + "'";
        if (t.offset % f->alignment_ != 0)
            throw Error(what + ": data offset " + std::to_string(t.offset) + " is not aligned to " + std::to_string(f->alignment_));
        if (f->dataStart_ > f->size_ || t.offset > f->size_ - f->dataStart_ || uint64_t(t.bytes) > f->size_ - f->dataStart_ - t.offset)
            throw Error(what + ": data lies beyond the end of the file (truncated?)");
        order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (order[i - 1]->offset + uint64_t(order[i - 1]->bytes) > order[i]->offset)
            throw Error(path + ": the data of tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap");
    return f;
}

const KeyValue* File::find(const std::string& key) const
{
    for (const auto& kv : kv_)
        if (kv.key == key)
            return &kv;
    return nullptr;
}

const TensorInfo* File::tensor(const std::string& name) const
{
    for (const auto& t : tensors_)
        if (t.name == name)
            return &t;
    return nullptr;
}

const uint8_t* File::data(const TensorInfo& t) const
{
    return map_ + dataStart_ + t.offset;
}

std::vector<float> File::dequantize(const std::string& name) const
{
    const TensorInfo* t = tensor(name);
    if (!t)
        throw Error(path_ + ": no tensor '" + name + "'");
    std::vector<float> out(static_cast<std::size_t>(t->elements()));
    dequantizeRows(t->type, data(*t), out.data(), t->elements());
    return out;
}

} // namespace tailor::gguf
