//! Errors of the text room. Every message is given in Chinese and English, since the CLI
//! is used by staff and by developers alike, and names the file line where one applies.

use std::path::PathBuf;

/// What went wrong while reading input, training or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("无法读写文件 {path}：{source} / cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("第 {line} 行：不是有效的 UTF-8 编码 / line {line}: not valid UTF-8")]
    NotUtf8 { line: u64 },
    #[error("第 {line} 行：引号不配对 / line {line}: broken quoting (unbalanced quotes)")]
    BrokenQuoting { line: u64 },
    #[error(
        "第 {line} 行：有 {found} 列，表头有 {expected} 列 / line {line}: {found} fields, the header has {expected}"
    )]
    FieldCount {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("第 {line} 行：CSV 格式错误（{detail}）/ line {line}: malformed CSV ({detail})")]
    Csv { line: u64, detail: String },
    #[error(
        "表头缺少 {column} 列（现有：{found}）/ the header has no column {column} (found: {found})"
    )]
    MissingColumn { column: String, found: String },
    #[error("第 {line} 行：{column} 列为空 / line {line}: column {column} is empty")]
    EmptyField { line: u64, column: String },
    #[error("文件没有数据行 / the file has no data rows")]
    NoRows,
    #[error("训练数据至少需要两个类别 / training needs at least two labels")]
    TooFewLabels,
    #[error("模型文件无效：{0} / invalid model file: {0}")]
    BadModel(String),
    #[error("已停止（服务正在关闭）/ stopped (the server is shutting down)")]
    Stopped,
}

impl TextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TextError::Io {
            path: path.into(),
            source,
        }
    }
}
