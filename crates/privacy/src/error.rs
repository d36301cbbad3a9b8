use std::path::PathBuf;

/// Problems with keys and sealed values. Messages are in both languages and never contain key
/// material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(
        "个人信息密钥文件 {path} 的权限为 {mode:03o}，同组或其他用户可以访问；请执行 chmod 600 {path} 后再启动 / \
         the personal-data key file {path} has mode {mode:03o} and is accessible to group or others; \
         run chmod 600 {path} and start again"
    )]
    KeyFileExposed { path: PathBuf, mode: u32 },
    #[error("无法读写个人信息密钥文件 {path} / cannot read or write the personal-data key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("个人信息密钥配置有误 / invalid personal-data key configuration: {0}")]
    BadKey(String),
    #[error("密文格式不正确 / malformed sealed value")]
    Malformed,
    #[error("密文使用的密钥 {0} 不在密钥环中 / sealed with key {0}, which is not in the keyring")]
    UnknownKey(String),
    #[error("密文已被篡改或密钥不符 / sealed value was altered or the key does not match")]
    Tampered,
}
