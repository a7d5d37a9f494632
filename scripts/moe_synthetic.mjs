#!/usr/bin/env node
// The synthetic mixture-of-experts checkpoint of the tests (#30) and its
// independent oracle. Nothing here shares code with Tailor: the forward pass
// is written from Hugging Face's Qwen3MoeForCausalLM (modeling_qwen3_moe.py)
// in double precision, so a match is evidence that Tailor computes the model.
//
//   node scripts/moe_synthetic.mjs make DIR [qwen3_moe|mixtral|mixtral-bench]
//                                               writes DIR/config.json and DIR/model.safetensors
//   node scripts/moe_synthetic.mjs oracle DIR IDS.json OUT.json
//                                               PPL (L = 128, 256; dense and without block 1),
//                                               window-0 logits and routing counts
//
// Weights are seeded and use only integer arithmetic and + - * / (no Math.log
// or Math.cos), so every node version writes the same bytes. Each router row
// has a bias on hidden dimension 0 (which the embedding keeps large) so that
// experts are used unequally, as in trained mixtures, and one expert per
// block is never chosen: what routing statistics and expert pruning are for.
import fs from 'node:fs';
import path from 'node:path';

const CONFIG = {
    architectures: ['Qwen3MoeForCausalLM'],
    model_type: 'qwen3_moe',
    vocab_size: 151936,
    hidden_size: 64,
    intermediate_size: 192,
    moe_intermediate_size: 32,
    num_experts: 8,
    num_experts_per_tok: 2,
    norm_topk_prob: true,
    decoder_sparse_step: 1,
    mlp_only_layers: [],
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    hidden_act: 'silu',
    max_position_embeddings: 40960,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    rope_scaling: null,
    attention_bias: false,
    tie_word_embeddings: true,
    bos_token_id: 151643,
    eos_token_id: 151645,
    router_aux_loss_coef: 0.001,
    output_router_logits: false,
    torch_dtype: 'bfloat16',
};

// Mixtral (HF MixtralForCausalLM): no q/k norm, its own names
// (block_sparse_moe.gate, experts.N.w1/w3/w2), untied lm_head, the Llama 2
// tokenizer's 32,000 ids. "mixtral-bench" is a larger one for speed runs
// (bench/README: decode speed against the bytes a token reads).
const MIXTRAL = {
    architectures: ['MixtralForCausalLM'],
    model_type: 'mixtral',
    vocab_size: 32000,
    hidden_size: 64,
    intermediate_size: 32,
    num_local_experts: 8,
    num_experts_per_tok: 2,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-5,
    rope_theta: 1000000.0,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
    router_aux_loss_coef: 0.02,
    torch_dtype: 'bfloat16',
};
const CONFIGS = {
    qwen3_moe: CONFIG,
    mixtral: MIXTRAL,
    'mixtral-bench': {...MIXTRAL, hidden_size: 512, intermediate_size: 1408, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 64},
};
const isMixtral = (c) => c.model_type === 'mixtral';
const expertCount = (c) => c.num_experts ?? c.num_local_experts;
const expertWidth = (c) => (isMixtral(c) ? c.intermediate_size : c.moe_intermediate_size);
// HF names of the router and of expert x's gate, up, down
function moeNames(c, p, x) {
    return isMixtral(c)
        ? {router: p + 'block_sparse_moe.gate.weight', gate: p + `block_sparse_moe.experts.${x}.w1.weight`,
           up: p + `block_sparse_moe.experts.${x}.w3.weight`, down: p + `block_sparse_moe.experts.${x}.w2.weight`}
        : {router: p + 'mlp.gate.weight', gate: p + `mlp.experts.${x}.gate_proj.weight`, up: p + `mlp.experts.${x}.up_proj.weight`,
           down: p + `mlp.experts.${x}.down_proj.weight`};
}

// ---- seeded weights (xorshift64*, Irwin-Hall normal approximation) ----
let state = 0x9e3779b97f4a7c15n;
function nextU32() {
    state ^= state >> 12n;
    state ^= (state << 25n) & 0xffffffffffffffffn;
    state ^= state >> 27n;
    return Number(((state * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn) >> 32n);
}
function normal() {
    let s = 0;
    for (let i = 0; i < 4; ++i) s += nextU32() / 4294967296;
    return (s - 2) * Math.sqrt(3); // mean 0, variance 1 (sqrt is exactly rounded)
}

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
// float -> bf16 bits, round to nearest even (what torch's .to(bfloat16) does)
function bf16Bits(x) {
    f32[0] = x;
    const u = u32[0];
    return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function bf16Value(bits) {
    u32[0] = bits << 16;
    return f32[0];
}

function tensorList(c) {
    const H = c.hidden_size, hd = c.head_dim, Q = c.num_attention_heads * hd, KV = c.num_key_value_heads * hd;
    const I = expertWidth(c), E = expertCount(c), s = 1 / Math.sqrt(H);
    const t = [];
    const add = (name, shape, gen) => t.push({name, shape, gen});
    const gauss = (s) => () => s * normal();
    const around1 = () => 1 + 0.1 * normal();
    add('model.embed_tokens.weight', [c.vocab_size, H], (i) => (i % H === 0 ? 2 : 0) + 0.5 * normal());
    for (let b = 0; b < c.num_hidden_layers; ++b) {
        const p = `model.layers.${b}.`;
        add(p + 'input_layernorm.weight', [H], around1);
        add(p + 'self_attn.q_proj.weight', [Q, H], gauss(s));
        add(p + 'self_attn.k_proj.weight', [KV, H], gauss(s));
        add(p + 'self_attn.v_proj.weight', [KV, H], gauss(s));
        add(p + 'self_attn.o_proj.weight', [H, Q], gauss(s / 2));
        if (!isMixtral(c)) {
            add(p + 'self_attn.q_norm.weight', [hd], around1);
            add(p + 'self_attn.k_norm.weight', [hd], around1);
        }
        add(p + 'post_attention_layernorm.weight', [H], around1);
        // router: expert e's bias on dimension 0 makes some experts favourites;
        // the favourites rotate with the block, and one expert is never chosen
        const bias = [0.8, 0.6, 0.4, 0.2, 0.0, -0.2, -0.4, -3.0];
        add(moeNames(c, p, 0).router, [E, H], (i) => {
            const e = Math.floor(i / H), d = i % H;
            return 0.3 * normal() + (d === 0 ? bias[(e + b) % E] : 0);
        });
        for (let x = 0; x < E; ++x) {
            const n = moeNames(c, p, x);
            add(n.gate, [I, H], gauss(s));
            add(n.up, [I, H], gauss(s));
            add(n.down, [H, I], gauss(isMixtral(c) ? 1 / Math.sqrt(I) : 0.25));
        }
    }
    add('model.norm.weight', [H], around1);
    if (!c.tie_word_embeddings)
        add('lm_head.weight', [c.vocab_size, H], gauss(0.5));
    return t;
}

function make(dir, family = 'qwen3_moe') {
    const config = CONFIGS[family];
    if (!config) throw new Error(`unknown family '${family}' (${Object.keys(CONFIGS).join(', ')})`);
    fs.mkdirSync(dir, {recursive: true});
    const list = tensorList(config);
    const header = {__metadata__: {format: 'pt'}};
    let offset = 0;
    const chunks = [];
    for (const t of list) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const buf = Buffer.alloc(2 * n);
        for (let i = 0; i < n; ++i) buf.writeUInt16LE(bf16Bits(t.gen(i)), 2 * i);
        header[t.name] = {dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + buf.length]};
        offset += buf.length;
        chunks.push(buf);
    }
    let json = JSON.stringify(header);
    while ((8 + json.length) % 8) json += ' ';
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const tmp = path.join(dir, 'model.safetensors.part');
    fs.writeFileSync(tmp, Buffer.concat([len, Buffer.from(json), ...chunks]));
    fs.renameSync(tmp, path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
}

// ---- the oracle: HF Qwen3-MoE forward in double precision ----
function load(dir) {
    const file = fs.readFileSync(path.join(dir, 'model.safetensors'));
    const n = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + n).toString());
    const w = {};
    for (const [name, info] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const [a, b] = info.data_offsets;
        const out = new Float64Array((b - a) / 2);
        for (let i = 0; i < out.length; ++i) out[i] = bf16Value(file.readUInt16LE(8 + n + a + 2 * i));
        w[name] = out;
    }
    return w;
}

// y[t][o] = sum_i x[t][i] W[o][i]   (x: T x I, W: O x I)
function linear(x, T, I, W, O) {
    const y = new Float64Array(T * O);
    for (let t = 0; t < T; ++t)
        for (let o = 0; o < O; ++o) {
            let s = 0;
            const xo = t * I, wo = o * I;
            for (let i = 0; i < I; ++i) s += x[xo + i] * W[wo + i];
            y[t * O + o] = s;
        }
    return y;
}

function rmsNormRows(x, rows, n, w, eps) {
    const y = new Float64Array(rows * n);
    for (let r = 0; r < rows; ++r) {
        let ss = 0;
        for (let i = 0; i < n; ++i) ss += x[r * n + i] * x[r * n + i];
        const inv = 1 / Math.sqrt(ss / n + eps);
        for (let i = 0; i < n; ++i) y[r * n + i] = w[i] * x[r * n + i] * inv;
    }
    return y;
}

const silu = (v) => v / (1 + Math.exp(-v));

function forward(w, c, ids, skip, routeCount) {
    const T = ids.length, H = c.hidden_size, hd = c.head_dim, nh = c.num_attention_heads, nkv = c.num_key_value_heads;
    const E = expertCount(c), K = c.num_experts_per_tok, I = expertWidth(c), eps = c.rms_norm_eps;
    const norm = isMixtral(c) || c.norm_topk_prob; // Mixtral: softmax over the top k = renormalised
    const emb = w['model.embed_tokens.weight'];
    let x = new Float64Array(T * H);
    for (let t = 0; t < T; ++t) for (let i = 0; i < H; ++i) x[t * H + i] = emb[ids[t] * H + i];
    // rotate-half RoPE tables
    const half = hd / 2, cos = new Float64Array(T * half), sin = new Float64Array(T * half);
    for (let t = 0; t < T; ++t)
        for (let i = 0; i < half; ++i) {
            const f = t / Math.pow(c.rope_theta, (2 * i) / hd);
            cos[t * half + i] = Math.cos(f);
            sin[t * half + i] = Math.sin(f);
        }
    const rope = (v, rows, heads) => {
        for (let t = 0; t < rows; ++t)
            for (let h = 0; h < heads; ++h) {
                const o = (t * heads + h) * hd;
                for (let i = 0; i < half; ++i) {
                    const a = v[o + i], b = v[o + half + i], cs = cos[t * half + i], sn = sin[t * half + i];
                    v[o + i] = a * cs - b * sn;
                    v[o + half + i] = b * cs + a * sn;
                }
            }
    };
    for (let b = 0; b < c.num_hidden_layers; ++b) {
        if (skip.includes(b)) continue;
        const p = `model.layers.${b}.`;
        const a = rmsNormRows(x, T, H, w[p + 'input_layernorm.weight'], eps);
        let q = linear(a, T, H, w[p + 'self_attn.q_proj.weight'], nh * hd);
        let k = linear(a, T, H, w[p + 'self_attn.k_proj.weight'], nkv * hd);
        if (!isMixtral(c)) { // Qwen3: per-head RMSNorm of q and k before RoPE
            q = rmsNormRows(q, T * nh, hd, w[p + 'self_attn.q_norm.weight'], eps);
            k = rmsNormRows(k, T * nkv, hd, w[p + 'self_attn.k_norm.weight'], eps);
        }
        const v = linear(a, T, H, w[p + 'self_attn.v_proj.weight'], nkv * hd);
        rope(q, T, nh);
        rope(k, T, nkv);
        const att = new Float64Array(T * nh * hd), scale = 1 / Math.sqrt(hd), score = new Float64Array(T);
        for (let h = 0; h < nh; ++h) {
            const g = Math.floor(h / (nh / nkv));
            for (let t = 0; t < T; ++t) {
                let m = -Infinity;
                for (let s = 0; s <= t; ++s) {
                    let d = 0;
                    for (let i = 0; i < hd; ++i) d += q[(t * nh + h) * hd + i] * k[(s * nkv + g) * hd + i];
                    score[s] = d * scale;
                    if (score[s] > m) m = score[s];
                }
                let z = 0;
                for (let s = 0; s <= t; ++s) z += (score[s] = Math.exp(score[s] - m));
                for (let s = 0; s <= t; ++s)
                    for (let i = 0; i < hd; ++i) att[(t * nh + h) * hd + i] += (score[s] / z) * v[(s * nkv + g) * hd + i];
            }
        }
        const o = linear(att, T, nh * hd, w[p + 'self_attn.o_proj.weight'], H);
        for (let i = 0; i < x.length; ++i) x[i] += o[i];
        const y = rmsNormRows(x, T, H, w[p + 'post_attention_layernorm.weight'], eps);
        const logits = linear(y, T, H, w[moeNames(c, p, 0).router], E);
        for (let t = 0; t < T; ++t) {
            // softmax over every expert, top k, renormalised (norm_topk_prob)
            let m = -Infinity;
            for (let e = 0; e < E; ++e) m = Math.max(m, logits[t * E + e]);
            const pr = [];
            let z = 0;
            for (let e = 0; e < E; ++e) z += (pr[e] = Math.exp(logits[t * E + e] - m));
            const order = [...Array(E).keys()].map((e) => [pr[e] / z, e]).sort((u, v2) => v2[0] - u[0]).slice(0, K);
            const sum = order.reduce((s, [pe]) => s + pe, 0);
            for (const [pe, e] of order) {
                if (routeCount) routeCount[b][e] += 1;
                const weight = norm ? pe / sum : pe;
                const yt = y.subarray(t * H, (t + 1) * H);
                const n = moeNames(c, p, e);
                const gate = linear(yt, 1, H, w[n.gate], I);
                const up = linear(yt, 1, H, w[n.up], I);
                for (let i = 0; i < I; ++i) gate[i] = silu(gate[i]) * up[i];
                const down = linear(gate, 1, I, w[n.down], H);
                for (let i = 0; i < H; ++i) x[t * H + i] += weight * down[i];
            }
        }
    }
    const xn = rmsNormRows(x, T, H, w['model.norm.weight'], eps);
    return {xn, T, H};
}

// next-token NLL of a window, and (optionally) its full logits rows
function windowNll(w, c, ids, skip, keepRows, routeCount) {
    const {xn, T, H} = forward(w, c, ids, skip, routeCount);
    const emb = w[c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'], V = c.vocab_size;
    let nll = 0;
    const rows = [];
    const row = new Float64Array(V);
    for (let t = 0; t < T; ++t) {
        if (t === T - 1 && !keepRows) break;
        let m = -Infinity;
        for (let v = 0; v < V; ++v) {
            let s = 0;
            for (let i = 0; i < H; ++i) s += xn[t * H + i] * emb[v * H + i];
            row[v] = s;
            if (s > m) m = s;
        }
        let z = 0;
        for (let v = 0; v < V; ++v) z += Math.exp(row[v] - m);
        const lse = m + Math.log(z);
        if (t < T - 1) nll += lse - row[ids[t + 1]];
        if (keepRows) rows.push({lse, row: Float64Array.from(row)});
    }
    return {nll, rows};
}

function oracle(dir, idsFile, outFile) {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json')));
    const w = load(dir);
    const ids = JSON.parse(fs.readFileSync(idsFile));
    const out = {model: path.basename(dir), note: 'independent double-precision Qwen3-MoE forward (scripts/moe_synthetic.mjs)'};
    const ppl = (L, windows, skip, routeCount) => {
        let nll = 0;
        for (let k = 0; k < windows; ++k) nll += windowNll(w, c, ids.slice(k * L, (k + 1) * L), skip, false, routeCount).nll;
        const n = windows * (L - 1);
        return {ppl: Math.exp(nll / n), nll_sum: nll, predicted_tokens: n, windows};
    };
    const counts = [...Array(c.num_hidden_layers)].map(() => new Array(expertCount(c)).fill(0));
    out.eval_ppl_L128 = ppl(128, 8, [], counts);
    out.routing_counts_L128 = counts; // per block, how often each expert was chosen in those windows
    out.eval_ppl_L128_drop1 = ppl(128, 8, [1]);
    out.eval_ppl_L256 = ppl(256, 4, []);
    // window 0 at L = 128: every row's logsumexp, and the logits of 64 spread vocabulary ids
    const {rows} = windowNll(w, c, ids.slice(0, 128), [], true);
    const vocabIds = [...Array(64).keys()].map((i) => (i * 2371 + 7) % c.vocab_size);
    let maxAbs = 0;
    for (const r of rows) for (const v of r.row) maxAbs = Math.max(maxAbs, Math.abs(v));
    out.window0 = {
        vocab_ids: vocabIds,
        logits: rows.map((r) => vocabIds.map((v) => r.row[v])),
        logsumexp: rows.map((r) => r.lse),
        max_abs_logit: maxAbs,
    };
    fs.writeFileSync(outFile, JSON.stringify(out, null, 1) + '\n');
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'make' && (args.length === 1 || args.length === 2)) make(...args);
else if (mode === 'oracle' && args.length === 3) oracle(...args);
else {
    console.error('usage: moe_synthetic.mjs make DIR | oracle DIR IDS.json OUT.json');
    process.exit(2);
}
