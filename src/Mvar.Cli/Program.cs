using TorchSharp;
var a = torch.randn(512, 512);
var sw = System.Diagnostics.Stopwatch.StartNew();
for (int i = 0; i < 20; i++) { using var c = a.matmul(a); }
System.Console.WriteLine($"{20*2.0*512*512*512/sw.Elapsed.TotalSeconds/1e9:F1} GFLOP/s threads={torch.get_num_threads()}");
