// Dumps a GGUF file as JSON with Hugging Face's independent reader
// (@huggingface/gguf, fetched by scripts/fetch_fixtures.sh), so the export
// tests do not only check Tailor's writer against Tailor's own reader.
//   node tests/tools/gguf_dump.cjs FILE.gguf
const path = require("path");
const { gguf } = require(path.join(__dirname, "../data/tools/node_modules/@huggingface/gguf"));

gguf(path.resolve(process.argv[2]), { allowLocalFile: true })
  .then(({ metadata, tensorInfos, tensorDataOffset }) => {
    const big = (k, v) => (typeof v === "bigint" ? Number(v) : v);
    const tensors = tensorInfos.map((t) => ({ name: t.name, shape: t.shape.map(Number), dtype: t.dtype, offset: Number(t.offset) }));
    process.stdout.write(JSON.stringify({ metadata, tensors, data_offset: Number(tensorDataOffset) }, big));
  })
  .catch((e) => {
    process.stderr.write(String(e) + "\n");
    process.exit(1);
  });
