//! Python peers: each in `tests/peers/NAME/`, with the exact packages of its
//! `requirements.txt` installed from PyPI into `tests/peers/NAME/.venv`, made once (under a
//! lock, so that two test processes do not install into one folder at once) and made again
//! when the requirements change.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use super::tls::{InstallLock, run};

/// The folder of the peer `name` in `tests/peers/`.
pub fn peer_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// The virtual environment of the peer `name`, with its pinned requirements installed;
/// `program` is a file of its `bin/` that a finished installation has.
pub fn prepare_venv(name: &str, program: &str) -> PathBuf {
    let dir = peer_dir(name);
    let venv = dir.join(".venv");
    let requirements = fs::read_to_string(dir.join("requirements.txt"))
        .unwrap_or_else(|e| panic!("tests/peers/{name}/requirements.txt: {e}"));
    let stamp = venv.join("installed-requirements.txt");
    let fresh = || {
        fs::read_to_string(&stamp).is_ok_and(|s| s == requirements)
            && venv.join("bin").join(program).is_file()
    };
    if fresh() {
        return venv;
    }
    let _lock = InstallLock::acquire(&format!("{name}-peer-venv.lock"));
    if fresh() {
        return venv;
    }
    let _ = fs::remove_dir_all(&venv);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        &format!("python3 -m venv tests/peers/{name}/.venv (Python 3.10 or later is needed)"),
    );
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(dir.join("requirements.txt")),
        &format!("pip install -r tests/peers/{name}/requirements.txt"),
    );
    fs::write(&stamp, &requirements).expect("write the stamp");
    venv
}
