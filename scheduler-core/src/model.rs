//! GPU models: `vendor/name` strings, interned to small integers inside the core.
//!
//! No vendor is special: `nvidia/V100M32`, `huawei/Ascend910B` and `iluvatar/BI-V150` are all just models.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The most distinct GPU models one scheduler can know (they are kept in a 128-bit set).
pub const MAX_GPU_MODELS: usize = 128;

/// A GPU model name of the form `vendor/name`, e.g. `nvidia/A100-80G` or `huawei/Ascend910B`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GpuModel(Arc<str>);

/// Why a string is not a valid [`GpuModel`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a GPU model: expected `vendor/name` (e.g. `nvidia/V100M32`), {problem}")]
pub struct GpuModelError {
    /// The rejected text.
    pub text: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl GpuModel {
    /// Parses and validates `vendor/name`: two non-empty parts, one `/`, no whitespace or `|`.
    pub fn new(text: &str) -> Result<GpuModel, GpuModelError> {
        let err = |problem| GpuModelError {
            text: text.to_owned(),
            problem,
        };
        let Some((vendor, name)) = text.split_once('/') else {
            return Err(err("but it has no `/`"));
        };
        if vendor.is_empty() || name.is_empty() {
            return Err(err("but the vendor or the name is empty"));
        }
        if name.contains('/') {
            return Err(err("but it has more than one `/`"));
        }
        if text.chars().any(|c| c.is_whitespace() || c == '|' || c == ',') {
            return Err(err("but it contains whitespace, `|` or `,`"));
        }
        Ok(GpuModel(Arc::from(text)))
    }

    /// The whole `vendor/name` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The vendor part.
    pub fn vendor(&self) -> &str {
        self.0.split_once('/').map_or("", |(v, _)| v)
    }

    /// The name part.
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, n)| n)
    }
}

impl fmt::Display for GpuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for GpuModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for GpuModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        GpuModel::new(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for GpuModel {
    type Err = GpuModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GpuModel::new(s)
    }
}

/// A GPU model interned by the scheduler: an index into its [`GpuModels`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId(pub u8);

/// A set of allowed GPU models ("A or B"); [`ModelSet::ANY`] allows every model, present or future.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelSet(u128);

impl ModelSet {
    /// Every model, including models registered later.
    pub const ANY: ModelSet = ModelSet(u128::MAX);
    /// No model.
    pub const EMPTY: ModelSet = ModelSet(0);

    /// The set holding just `id`.
    pub const fn only(id: ModelId) -> ModelSet {
        ModelSet(1u128 << id.0)
    }

    /// Whether `id` is allowed.
    pub const fn contains(self, id: ModelId) -> bool {
        self.0 & (1u128 << id.0) != 0
    }

    /// Whether this is [`ModelSet::ANY`].
    pub const fn is_any(self) -> bool {
        self.0 == u128::MAX
    }

    /// Adds `id` to the set.
    pub fn insert(&mut self, id: ModelId) {
        self.0 |= 1u128 << id.0;
    }

    /// The intersection of two sets.
    pub const fn intersect(self, other: ModelSet) -> ModelSet {
        ModelSet(self.0 & other.0)
    }

    /// The raw 128-bit mask (bit `i` = model id `i`).
    pub const fn bits(self) -> u128 {
        self.0
    }

    /// The set with this raw mask.
    pub const fn from_bits(bits: u128) -> ModelSet {
        ModelSet(bits)
    }

    /// Whether no model is allowed.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The model ids in the set, ascending, among the first `known` ids.
    pub fn iter(self, known: usize) -> impl Iterator<Item = ModelId> {
        (0..known.min(MAX_GPU_MODELS))
            .map(|i| ModelId(i as u8))
            .filter(move |&id| self.contains(id))
    }
}

/// The table of GPU models a scheduler knows, in the order they were first seen.
#[derive(Clone, Debug, Default)]
pub struct GpuModels {
    names: Vec<GpuModel>,
    ids: BTreeMap<GpuModel, ModelId>,
}

/// A scheduler already knows [`MAX_GPU_MODELS`] models and cannot learn another.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot register GPU model `{0}`: a scheduler knows at most {MAX_GPU_MODELS} distinct models")]
pub struct TooManyModels(pub GpuModel);

impl GpuModels {
    /// The id of `model`, registering it if it is new.
    pub fn intern(&mut self, model: &GpuModel) -> Result<ModelId, TooManyModels> {
        if let Some(&id) = self.ids.get(model) {
            return Ok(id);
        }
        if self.names.len() >= MAX_GPU_MODELS {
            return Err(TooManyModels(model.clone()));
        }
        let id = ModelId(self.names.len() as u8);
        self.names.push(model.clone());
        self.ids.insert(model.clone(), id);
        Ok(id)
    }

    /// The id of `model` if it is known.
    pub fn get(&self, model: &GpuModel) -> Option<ModelId> {
        self.ids.get(model).copied()
    }

    /// The model with this id.
    pub fn name(&self, id: ModelId) -> &GpuModel {
        &self.names[id.0 as usize]
    }

    /// How many models are known.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no model is known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_are_validated() {
        assert!(GpuModel::new("nvidia/V100M32").is_ok());
        assert_eq!(GpuModel::new("huawei/Ascend910B").unwrap().vendor(), "huawei");
        for bad in ["V100", "/V100", "nvidia/", "a/b/c", "nvidia/V 100", "a|b/c"] {
            assert!(GpuModel::new(bad).is_err(), "{bad} accepted");
        }
        let e = GpuModel::new("V100").unwrap_err().to_string();
        assert!(e.contains("expected `vendor/name`"), "{e}");
    }

    #[test]
    fn model_sets() {
        let mut t = GpuModels::default();
        let a = t.intern(&GpuModel::new("nvidia/A").unwrap()).unwrap();
        let b = t.intern(&GpuModel::new("nvidia/B").unwrap()).unwrap();
        assert_eq!(t.intern(&GpuModel::new("nvidia/A").unwrap()).unwrap(), a);
        let s = ModelSet::only(b);
        assert!(s.contains(b) && !s.contains(a));
        assert!(ModelSet::ANY.contains(a));
        assert_eq!(s.iter(t.len()).collect::<Vec<_>>(), vec![b]);
    }
}
