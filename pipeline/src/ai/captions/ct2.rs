//! Reader of CTranslate2's `model.bin` (binary version 6 and earlier), the layout faster-whisper
//! users have on disk, and the mapping of its Whisper variables to the Hugging Face names that
//! candle's Whisper loads.
//!
//! The file is little-endian: `u32` version, the spec name (`u16` length including a NUL, the
//! bytes, the NUL), `u32` revision, `u32` variable count, then per variable its name, `u8` rank,
//! `u32` per dimension, `u8` data type, `u32` byte count and the data; then `u32` alias count
//! and (alias, target) name pairs. int8/int16 weights come with a `<name>_scale` variable
//! (`weight = q / scale`, one scale per row or one for all).

use std::collections::HashMap;

use candle::{DType, Device, Tensor};

/// The element types CTranslate2 writes, by their id in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Type {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl Ct2Type {
    fn from_id(id: u8) -> Option<Ct2Type> {
        Some(match id {
            0 => Ct2Type::F32,
            1 => Ct2Type::I8,
            2 => Ct2Type::I16,
            3 => Ct2Type::I32,
            4 => Ct2Type::F16,
            5 => Ct2Type::BF16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Ct2Type::I8 => 1,
            Ct2Type::I16 | Ct2Type::F16 | Ct2Type::BF16 => 2,
            Ct2Type::F32 | Ct2Type::I32 => 4,
        }
    }

    /// The id CTranslate2 gives the type in the file.
    pub fn id(self) -> u8 {
        match self {
            Ct2Type::F32 => 0,
            Ct2Type::I8 => 1,
            Ct2Type::I16 => 2,
            Ct2Type::I32 => 3,
            Ct2Type::F16 => 4,
            Ct2Type::BF16 => 5,
        }
    }
}

/// One variable as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Variable {
    pub shape: Vec<usize>,
    pub dtype: Ct2Type,
    pub data: Vec<u8>,
}

/// A parsed `model.bin`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Model {
    pub version: u32,
    /// `WhisperSpec` for Whisper.
    pub spec: String,
    pub revision: u32,
    pub variables: HashMap<String, Ct2Variable>,
    /// Alias → variable name (for example `decoder/projection/weight` → the embeddings).
    pub aliases: HashMap<String, String>,
}

/// Byte cursor with errors that say where the file ended.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("the file ends inside {what} (offset {})", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.u16(what)? as usize;
        let b = self.take(n, what)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

/// Parses the bytes of a `model.bin`.
pub fn parse(bytes: &[u8]) -> Result<Ct2Model, String> {
    let mut c = Cursor { bytes, at: 0 };
    let version = c.u32("the header")?;
    if !(2..=6).contains(&version) {
        return Err(format!(
            "binary version {version} is not a CTranslate2 model.bin this reader knows (2..=6)"
        ));
    }
    let spec = c.string("the spec name")?;
    let revision = if version >= 4 {
        c.u32("the revision")?
    } else {
        1
    };
    let count = c.u32("the variable count")?;
    let mut variables = HashMap::new();
    for _ in 0..count {
        let name = c.string("a variable name")?;
        let rank = c.u8(&name)? as usize;
        let shape = (0..rank)
            .map(|_| c.u32(&name).map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        let type_id = c.u8(&name)?;
        let dtype = Ct2Type::from_id(type_id)
            .ok_or_else(|| format!("variable {name} has unknown data type {type_id}"))?;
        let n_bytes = c.u32(&name)? as usize;
        let elements: usize = shape.iter().product();
        if elements * dtype.size() != n_bytes {
            return Err(format!(
                "variable {name}: shape {shape:?} of {dtype:?} needs {} bytes, the file has {n_bytes}",
                elements * dtype.size()
            ));
        }
        let data = c.take(n_bytes, &name)?.to_vec();
        variables.insert(name, Ct2Variable { shape, dtype, data });
    }
    let mut aliases = HashMap::new();
    if version >= 3 && c.at < bytes.len() {
        let n = c.u32("the alias count")?;
        for _ in 0..n {
            let alias = c.string("an alias")?;
            let target = c.string("an alias target")?;
            aliases.insert(alias, target);
        }
    }
    Ok(Ct2Model {
        version,
        spec,
        revision,
        variables,
        aliases,
    })
}

/// Writes a model in the same layout (version 6); the tests build small files with it.
pub fn write(model: &Ct2Model) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&6u32.to_le_bytes());
    string(&mut out, &model.spec);
    out.extend_from_slice(&model.revision.to_le_bytes());
    let mut names: Vec<&String> = model.variables.keys().collect();
    names.sort();
    out.extend_from_slice(&(names.len() as u32).to_le_bytes());
    for name in names {
        let v = &model.variables[name];
        string(&mut out, name);
        out.push(v.shape.len() as u8);
        for d in &v.shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(v.dtype.id());
        out.extend_from_slice(&(v.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&v.data);
    }
    out.extend_from_slice(&(model.aliases.len() as u32).to_le_bytes());
    let mut aliases: Vec<_> = model.aliases.iter().collect();
    aliases.sort();
    for (alias, target) in aliases {
        string(&mut out, alias);
        string(&mut out, target);
    }
    out
}

impl Ct2Model {
    /// The variable of that name, following aliases.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable> {
        self.variables.get(name).or_else(|| {
            self.aliases
                .get(name)
                .and_then(|target| self.variables.get(target))
        })
    }

    /// A scalar integer variable (`encoder/num_heads`).
    pub fn scalar(&self, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        let b = &v.data;
        match v.dtype {
            Ct2Type::I8 => b.first().map(|&x| x as i8 as i64),
            Ct2Type::I16 if b.len() >= 2 => Some(i16::from_le_bytes([b[0], b[1]]) as i64),
            Ct2Type::I32 if b.len() >= 4 => {
                Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            }
            _ => None,
        }
    }

    /// The variable as an f32 tensor on `device`; int8/int16 weights are dequantized with their
    /// `_scale` variable.
    pub fn tensor(&self, name: &str, device: &Device) -> Result<Tensor, String> {
        let v = self
            .get(name)
            .ok_or_else(|| format!("variable {name} is missing"))?;
        let err = |e: candle::Error| format!("variable {name}: {e}");
        let raw = match v.dtype {
            Ct2Type::F32 => Tensor::from_raw_buffer(&v.data, DType::F32, &v.shape, device),
            Ct2Type::F16 => Tensor::from_raw_buffer(&v.data, DType::F16, &v.shape, device),
            Ct2Type::BF16 => Tensor::from_raw_buffer(&v.data, DType::BF16, &v.shape, device),
            Ct2Type::I8 => {
                let values: Vec<f32> = v.data.iter().map(|&x| x as i8 as f32).collect();
                Tensor::from_vec(values, v.shape.as_slice(), device)
            }
            Ct2Type::I16 => {
                let values: Vec<f32> = v
                    .data
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32)
                    .collect();
                Tensor::from_vec(values, v.shape.as_slice(), device)
            }
            Ct2Type::I32 => {
                let values: Vec<f32> = v
                    .data
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                    .collect();
                Tensor::from_vec(values, v.shape.as_slice(), device)
            }
        }
        .and_then(|t| t.to_dtype(DType::F32))
        .map_err(err)?;
        if !matches!(v.dtype, Ct2Type::I8 | Ct2Type::I16) {
            return Ok(raw);
        }
        let scale = self
            .tensor(&format!("{name}_scale"), device)
            .map_err(|e| format!("quantized variable {name} has no usable scale: {e}"))?;
        let scale = match (scale.rank(), raw.rank()) {
            (0, _) => scale,
            (1, 2) => scale.unsqueeze(1).map_err(err)?,
            _ => return Err(format!("variable {name}: scale shape {:?}", scale.shape())),
        };
        raw.broadcast_div(&scale).map_err(err)
    }
}

/// The Hugging Face tensors of a CTranslate2 Whisper model, under the names candle's Whisper
/// reads (`model.encoder.conv1.weight`, …). Fused projections are split: self-attention's
/// q/k/v, cross-attention's k/v; the key bias (all zeros in Whisper) is dropped.
pub fn whisper_tensors(
    model: &Ct2Model,
    device: &Device,
) -> Result<HashMap<String, Tensor>, String> {
    if model.spec != "WhisperSpec" {
        return Err(format!("the spec is {}, not WhisperSpec", model.spec));
    }
    let mut out = HashMap::new();
    let mut put = |hf: String, ct2: &str| -> Result<(), String> {
        out.insert(hf, model.tensor(ct2, device)?);
        Ok(())
    };
    for side in ["encoder", "decoder"] {
        let hf = format!("model.{side}");
        put(
            format!("{hf}.layer_norm.weight"),
            &format!("{side}/layer_norm/gamma"),
        )?;
        put(
            format!("{hf}.layer_norm.bias"),
            &format!("{side}/layer_norm/beta"),
        )?;
        put(
            format!("{hf}.embed_positions.weight"),
            &format!("{side}/position_encodings/encodings"),
        )?;
    }
    for conv in ["conv1", "conv2"] {
        for p in ["weight", "bias"] {
            put(
                format!("model.encoder.{conv}.{p}"),
                &format!("encoder/{conv}/{p}"),
            )?;
        }
    }
    put(
        "model.decoder.embed_tokens.weight".into(),
        "decoder/embeddings/weight",
    )?;
    for side in ["encoder", "decoder"] {
        for i in 0..layer_count(model, side) {
            let (c, h) = (
                format!("{side}/layer_{i}"),
                format!("model.{side}.layers.{i}"),
            );
            let mut norm = |hf: &str, ct2: &str| -> Result<(), String> {
                out.insert(
                    format!("{h}.{hf}.weight"),
                    model.tensor(&format!("{c}/{ct2}/gamma"), device)?,
                );
                out.insert(
                    format!("{h}.{hf}.bias"),
                    model.tensor(&format!("{c}/{ct2}/beta"), device)?,
                );
                Ok(())
            };
            norm("self_attn_layer_norm", "self_attention/layer_norm")?;
            norm("final_layer_norm", "ffn/layer_norm")?;
            if side == "decoder" {
                norm("encoder_attn_layer_norm", "attention/layer_norm")?;
            }
            let mut linear = |hf: &str, ct2: &str| -> Result<(), String> {
                for p in ["weight", "bias"] {
                    out.insert(
                        format!("{h}.{hf}.{p}"),
                        model.tensor(&format!("{c}/{ct2}/{p}"), device)?,
                    );
                }
                Ok(())
            };
            linear("self_attn.out_proj", "self_attention/linear_1")?;
            linear("fc1", "ffn/linear_0")?;
            linear("fc2", "ffn/linear_1")?;
            if side == "decoder" {
                linear("encoder_attn.q_proj", "attention/linear_0")?;
                linear("encoder_attn.out_proj", "attention/linear_2")?;
            }
            split(
                model,
                device,
                &mut out,
                &format!("{c}/self_attention/linear_0"),
                &format!("{h}.self_attn"),
                &["q_proj", "k_proj", "v_proj"],
            )?;
            if side == "decoder" {
                split(
                    model,
                    device,
                    &mut out,
                    &format!("{c}/attention/linear_1"),
                    &format!("{h}.encoder_attn"),
                    &["k_proj", "v_proj"],
                )?;
            }
        }
    }
    Ok(out)
}

/// Number of `layer_N` blocks of one side.
pub fn layer_count(model: &Ct2Model, side: &str) -> usize {
    (0..)
        .take_while(|i| {
            model
                .variables
                .contains_key(&format!("{side}/layer_{i}/ffn/linear_0/weight"))
        })
        .count()
}

/// Splits a fused projection along its output rows into equal parts.
fn split(
    model: &Ct2Model,
    device: &Device,
    out: &mut HashMap<String, Tensor>,
    ct2: &str,
    hf: &str,
    parts: &[&str],
) -> Result<(), String> {
    let weight = model.tensor(&format!("{ct2}/weight"), device)?;
    let bias = model.tensor(&format!("{ct2}/bias"), device)?;
    let rows = weight.dim(0).map_err(|e| e.to_string())?;
    if rows % parts.len() != 0 {
        return Err(format!(
            "{ct2}/weight has {rows} rows, not {} equal parts",
            parts.len()
        ));
    }
    let n = rows / parts.len();
    for (i, part) in parts.iter().enumerate() {
        let w = weight.narrow(0, i * n, n).and_then(|t| t.contiguous());
        out.insert(format!("{hf}.{part}.weight"), w.map_err(|e| e.to_string())?);
        if *part != "k_proj" {
            let b = bias.narrow(0, i * n, n).and_then(|t| t.contiguous());
            out.insert(format!("{hf}.{part}.bias"), b.map_err(|e| e.to_string())?);
        }
    }
    Ok(())
}
