#!/usr/bin/env bash
# The package test, as a newcomer would run it (README "Use from C#"): packs Mvar and Mvar.Cli into a temporary folder,
# builds and runs the README's C# snippet in a new console project that references the Mvar package from that folder
# (no project reference), then installs the mvar tool from the same folder with `dotnet tool install --tool-path` and
# runs `mvar sample --preset fashion-mnist`. The restores of the console project and of the tool see that folder as
# their only NuGet source: everything else (TorchSharp, libtorch) must come from the NuGet cache the build filled.
# On a clean machine the pack itself downloads the .NET runtime packs of the tool's platform once (restoring for a
# runtime identifier asks for them; the build does not need them), the only step that is not offline.
# The packages get a version of their own (0.0.0-packagetest.N), whose copies in the NuGet cache are removed at the end.
# Usage: tests/package-test.sh [--keep] (--keep leaves the temporary folder for a look)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0; [[ "${1:-}" == "--keep" ]] && keep=1
work="$(mktemp -d "${TMPDIR:-/tmp}/mvar-package-test.XXXXXX")"
version="0.0.0-packagetest.$(date +%s)"
cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  rm -rf "$cache/mvar/$version" "$cache/mvar.cli/$version" "$cache"/mvar.cli.*/"$version"
  rmdir "$cache/mvar" "$cache/mvar.cli" "$cache"/mvar.cli.* 2>/dev/null || true
  if (( keep )); then echo "package-test: left $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { echo "package-test: $*" >&2; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
rid="$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')"
start=$SECONDS

step "packing $version for $rid into $work/packages"
dotnet pack "$root/Mvar.slnx" -c Release -nologo -v q -o "$work/packages" -p:Version="$version" \
  -p:ToolPackageRuntimeIdentifiers="$rid" >"$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; exit 1; }
ls -l "$work/packages" >&2

# the only source: the folder the packages were packed into (a restore needing anything else fails)
cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/packages" />
  </packageSources>
</configuration>
XML

step "a new console project with the README snippet"
app="$work/app"
dotnet new console -o "$app" -n PackageTestApp --no-restore >/dev/null
cp "$work/nuget.config" "$app/nuget.config"
(cd "$app" && dotnet add package Mvar --version "$version" >"$work/add.log" 2>&1) || { cat "$work/add.log" >&2; exit 1; }
# the first ```csharp block after the "## Use from C#" heading
awk '/^## Use from C#/ { s = 1 } s && /^```csharp/ { c = 1; next } c && /^```/ { exit } c' "$root/README.md" >"$app/Program.cs"
[[ -s "$app/Program.cs" ]] || { echo "package-test: no C# snippet under '## Use from C#' in README.md" >&2; exit 1; }
(cd "$app" && dotnet build -c Release -nologo -v q >"$work/build.log" 2>&1) || { cat "$work/build.log" >&2; exit 1; }
(cd "$app" && dotnet run -c Release --no-build) >&2
for png in samples.png sneaker.png sneaker-reconstructed.png; do
  [[ "$(head -c 8 "$app/$png" | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] || { echo "package-test: $png is not a PNG" >&2; exit 1; }
done

step "dotnet tool install --tool-path of Mvar.Cli"
dotnet tool install Mvar.Cli --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config" >&2
"$work/tools/mvar" sample --preset fashion-mnist --count 2 --seed 0 --out "$work/tool-samples.png" >&2
[[ -s "$work/tool-samples.png" ]] || { echo "package-test: mvar sample wrote no image" >&2; exit 1; }
step "passed in $((SECONDS - start)) s"
