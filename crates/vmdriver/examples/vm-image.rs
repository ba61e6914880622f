//! Builds the guest image like `coo-bench image build` (for hacking on vmdriver alone) and
//! prints its directory. Binaries are located as in `BuildOptions::discover`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = vmdriver::image::BuildOptions::discover()?;
    let img = vmdriver::image::build(&opts)?;
    eprintln!("{}", serde_json::to_string_pretty(&img.manifest)?);
    println!("{}", img.dir.display());
    Ok(())
}
