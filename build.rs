//! Records the git commit the binary was built from (env.json names it in every run), and links
//! libjpeg-turbo's TurboJPEG library where pkg-config finds it (`cfg(turbojpeg)`; without it the
//! resize workload encodes with the pure-Rust fallback, and env.json says so): statically when
//! its `libturbojpeg.a` is installed (Debian's libturbojpeg0-dev has it), so that an installed
//! binary or wheel depends on no system library pip cannot bring; `RUNNER_TURBOJPEG_DYNAMIC`
//! links the shared library instead.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RUNNER_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    turbojpeg();
}

/// `pkg-config libturbojpeg`: its version and where to link it from.
fn turbojpeg() {
    println!("cargo:rustc-check-cfg=cfg(turbojpeg)");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=RUNNER_NO_TURBOJPEG");
    println!("cargo:rerun-if-env-changed=RUNNER_TURBOJPEG_DYNAMIC");
    if std::env::var_os("RUNNER_NO_TURBOJPEG").is_some() {
        return;
    }
    let ask = |arg: &str| {
        Command::new("pkg-config")
            .args([arg, "libturbojpeg"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let (Some(version), Some(dirs)) = (ask("--modversion"), ask("--libs-only-L")) else {
        println!("cargo:warning=libturbojpeg not found by pkg-config: JPEG encoding falls back to jpeg-encoder (scripts/setup installs libturbojpeg0-dev)");
        return;
    };
    let mut dirs: Vec<String> = dirs
        .split_whitespace()
        .filter_map(|d| d.strip_prefix("-L"))
        .map(str::to_string)
        .collect();
    dirs.extend(ask("--variable=libdir"));
    for dir in &dirs {
        println!("cargo:rustc-link-search=native={dir}");
    }
    let archive = dirs
        .iter()
        .any(|d| std::path::Path::new(d).join("libturbojpeg.a").is_file());
    let link = if archive && std::env::var_os("RUNNER_TURBOJPEG_DYNAMIC").is_none() {
        "static"
    } else {
        "dylib"
    };
    if link == "dylib" && std::env::var_os("RUNNER_TURBOJPEG_DYNAMIC").is_none() {
        println!("cargo:warning=no libturbojpeg.a beside libturbojpeg.so: linked as a shared library, so this binary needs it installed (a wheel of it would too)");
    }
    println!("cargo:rustc-link-lib={link}=turbojpeg");
    println!(
        "cargo:rustc-env=RUNNER_TURBOJPEG_LINK={}",
        if link == "static" {
            "linked statically"
        } else {
            "linked as a shared library"
        }
    );
    println!("cargo:rustc-cfg=turbojpeg");
    println!("cargo:rustc-env=RUNNER_TURBOJPEG_VERSION={version}");
}
