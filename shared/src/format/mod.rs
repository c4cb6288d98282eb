//! The five list formats. Each turns the selection into body bytes; text builds in memory
//! (it must see every earlier line to drop repeats), the others write into any `io::Write`.

pub mod csv;
pub mod fields;
pub mod json;
pub mod lines;
pub mod mwg;
pub mod proxysg;
pub mod text;

/// `# Empty List`: the body of an empty text, CSV, MWG or ProxySG list when `ce` is on.
pub const EMPTY_LIST_COMMENT: &str = "# Empty List";

use crate::dataset::Dataset;
use crate::indicator::Indicator;

/// The selected indicators: positions into a dataset, in export order.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    dataset: &'a Dataset,
    positions: &'a [u32],
}

impl<'a> Selection<'a> {
    /// The indicators of `dataset` at `positions` (each must be in range; others are skipped).
    pub fn new(dataset: &'a Dataset, positions: &'a [u32]) -> Self {
        Self { dataset, positions }
    }

    /// The dataset selected from.
    pub fn dataset(&self) -> &'a Dataset {
        self.dataset
    }

    /// Number of selected indicators.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The selected indicators in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Indicator> + 'a {
        self.iter_positions().map(|(_, i)| i)
    }

    /// The selected indicators with their dataset positions.
    pub fn iter_positions(&self) -> impl Iterator<Item = (u32, &'a Indicator)> + 'a {
        let all = self.dataset.indicators();
        self.positions
            .iter()
            .filter_map(move |&p| all.get(p as usize).map(|i| (p, i)))
    }
}
