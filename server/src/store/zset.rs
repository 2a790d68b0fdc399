//! The zset type. PLACEHOLDER: the zset family replaces this file whole.

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSetValue {
    items: Vec<Vec<u8>>,
}

impl ZSetValue {
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn free_effort(&self) -> usize {
        self.items.len().max(1)
    }

    pub fn memory_usage(&self) -> usize {
        self.items.iter().map(Vec::len).sum()
    }
}
