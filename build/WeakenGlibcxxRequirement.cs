// MSBuild task (compiled by RoslynCodeTaskFactory, see WeakenGlibcxx.targets).
//
// TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13 and lists GLIBCXX_3.4.32 among the versions it
// needs from libstdc++.so.6, although the only symbol bound to it (std::ios_base_library_init) is never relocated.
// On a distribution whose libstdc++ predates GCC 13 (Debian 12: GCC 12) the loader refuses the library.
// This task marks that one requirement WEAK (VER_FLG_WEAK in its Elf64_Vernaux entry of .gnu.version_r) in the
// copy of the library in the build output, and only when the system libstdc++ does not define the version.
// (RoslynCodeTaskFactory compiles this against netstandard2.0.) The NuGet cache is never touched: the patched bytes are written to a new file that replaces
// the output copy.
#nullable enable
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenGlibcxxRequirement : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || Libraries.Length == 0) return true;
        string? libstdcxx = FindSystemLibstdcxx();
        if (libstdcxx == null) return true;                      // nothing to compare with: leave the library alone
        if (DefinesVersion(File.ReadAllBytes(libstdcxx), Version)) return true;   // newer distro: nothing to do
        foreach (var item in Libraries)
        {
            string path = item.ItemSpec;
            byte[] elf = File.ReadAllBytes(path);
            int changed = MarkRequirementWeak(elf, Version);
            if (changed <= 0) continue;
            string tmp = path + ".weak.tmp";
            File.WriteAllBytes(tmp, elf);
            File.Delete(path);
            File.Move(tmp, path);
            Log.LogMessage(MessageImportance.Normal, $"{path}: {Version} requirement marked weak ({libstdcxx} lacks it)");
        }
        return true;
    }

    static string? FindSystemLibstdcxx()
    {
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu",
                                    "/usr/lib64", "/lib64", "/usr/lib" })
        {
            string p = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    // Section headers of an ELF64 little-endian file: (type, offset, size, link) per section.
    static (uint type, long off, long size, uint link)[] Sections(byte[] b)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            return Array.Empty<(uint, long, long, uint)>();
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        var s = new (uint, long, long, uint)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            s[i] = (BitConverter.ToUInt32(b, (int)h + 4), BitConverter.ToInt64(b, (int)h + 0x18),
                    BitConverter.ToInt64(b, (int)h + 0x20), BitConverter.ToUInt32(b, (int)h + 0x28));
        }
        return s;
    }

    static string CString(byte[] b, long at)
    {
        int end = (int)at;
        while (end < b.Length && b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }

    /// <summary>True when the library's .gnu.version_d defines the version name.</summary>
    static bool DefinesVersion(byte[] b, string name)
    {
        var secs = Sections(b);
        foreach (var s in secs)
        {
            if (s.type != ShtGnuVerdef) continue;
            long strtab = secs[s.link].off, at = s.off;
            while (true)
            {   // Elf64_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32, vd_aux u32, vd_next u32
                uint aux = BitConverter.ToUInt32(b, (int)at + 12), next = BitConverter.ToUInt32(b, (int)at + 16);
                uint vdaName = BitConverter.ToUInt32(b, (int)(at + aux));            // Elf64_Verdaux: vda_name u32
                if (CString(b, strtab + vdaName) == name) return true;
                if (next == 0) break;
                at += next;
            }
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry naming the version; returns how many it changed.</summary>
    static int MarkRequirementWeak(byte[] b, string name)
    {
        int changed = 0;
        var secs = Sections(b);
        foreach (var s in secs)
        {
            if (s.type != ShtGnuVerneed) continue;
            long strtab = secs[s.link].off, at = s.off;
            while (true)
            {   // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                int cnt = BitConverter.ToUInt16(b, (int)at + 2);
                uint aux = BitConverter.ToUInt32(b, (int)at + 8), next = BitConverter.ToUInt32(b, (int)at + 12);
                long a = at + aux;
                for (int i = 0; i < cnt; i++)
                {   // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                    ushort flags = BitConverter.ToUInt16(b, (int)a + 4);
                    uint vnaName = BitConverter.ToUInt32(b, (int)a + 8), vnaNext = BitConverter.ToUInt32(b, (int)a + 12);
                    if (CString(b, strtab + vnaName) == name && (flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(b, (int)a + 4);
                        changed++;
                    }
                    if (vnaNext == 0) break;
                    a += vnaNext;
                }
                if (next == 0) break;
                at += next;
            }
        }
        return changed;
    }
}
