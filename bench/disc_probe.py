#!/usr/bin/env python3
"""Can a PatchGAN tell Fashion-MNIST images from a tokenizer's reconstructions at all? (issue #12)

Trains taming's NLayerDiscriminator (BatchNorm, hinge loss, Adam betas 0.5/0.9, batch 64, N(0, 0.02) init) for 300
steps on fixed real images against fixed reconstructions, with and without DiffAugment's translation (1/8, zero fill)
and cutout (a square half the side), as Mvar's tokenizer trainer applies them. No generator step: this isolates D.

usage: ./mvar reconstruct --preset fashion-mnist --data fashion-mnist --limit 4096 --npz /tmp/rec.npz
       /usr/bin/python3 bench/disc_probe.py /tmp/rec.npz      (Debian's python3-torch; 2 threads; about 5 minutes)
"""
import gzip, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

torch.manual_seed(0); torch.set_num_threads(2)
rec = np.load(sys.argv[1])["arr_0"][..., 0]   # (N, 32, 32) uint8, grey
raw = np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
real = np.pad(raw.reshape(-1, 28, 28)[: len(rec)], ((0, 0), (2, 2), (2, 2)))   # padded to 32 as Mvar loads them
as_t = lambda a: torch.tensor(a.astype(np.float32) / 127.5 - 1).unsqueeze(1)
R, Fk = as_t(real), as_t(rec)


def patch_gan(layers=2, ndf=32):
    m, prev = [nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2)], ndf
    for n in range(1, layers + 1):
        c = ndf * min(2 ** n, 8)
        m += [nn.Conv2d(prev, c, 4, 2 if n < layers else 1, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2)]
        prev = c
    net = nn.Sequential(*m, nn.Conv2d(prev, 1, 4, 1, 1))
    for q in net.modules():
        if isinstance(q, nn.Conv2d): nn.init.normal_(q.weight, 0, 0.02)
        if isinstance(q, nn.BatchNorm2d): nn.init.normal_(q.weight, 1, 0.02); nn.init.zeros_(q.bias)
    return net


def augment(x, g):
    B, S = x.shape[0], x.shape[-1]; s = S // 8; h = S // 4
    t = torch.randint(-s, s + 1, (B, 2), generator=g); c = torch.randint(0, S, (B, 2), generator=g)
    xp = F.pad(x, (s, s, s, s))
    out = torch.stack([xp[b, :, s - t[b, 1]:s - t[b, 1] + S, s - t[b, 0]:s - t[b, 0] + S] for b in range(B)])
    ys, xs = torch.arange(S).view(1, S, 1), torch.arange(S).view(1, 1, S)
    inside = ((ys - c[:, 0].view(B, 1, 1)).abs() < h) & ((xs - c[:, 1].view(B, 1, 1)).abs() < h)
    return out * (~inside).unsqueeze(1).float()


def probe(name, net, lr, aug, steps=300):
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9)); g = torch.Generator().manual_seed(1); t0 = time.time()
    for s in range(steps):
        a, b = R[torch.randint(0, len(R), (64,), generator=g)], Fk[torch.randint(0, len(R), (64,), generator=g)]
        if aug: a, b = augment(a, g), augment(b, g)
        dr, df = net(a), net(b)
        loss = 0.5 * (torch.relu(1 - dr).mean() + torch.relu(1 + df).mean())
        opt.zero_grad(); loss.backward(); opt.step()
        if (s + 1) % 50 == 0:
            print(f"{name:28s} step {s + 1:3d}  d_loss {loss.item():.3f}  D(real) {dr.mean().item():+.3f}  D(fake) {df.mean().item():+.3f}  ({time.time() - t0:.0f} s)", flush=True)


probe("2 layers, lr 2e-4", patch_gan(), 2e-4, False)
probe("2 layers, lr 1e-3", patch_gan(), 1e-3, False)
probe("2 layers, lr 2e-4, augmented", patch_gan(), 2e-4, True)
probe("2 layers, lr 1e-3, augmented", patch_gan(), 1e-3, True)
