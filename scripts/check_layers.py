#!/usr/bin/env python3
"""Checks that core/ includes point down its layers (docs/architecture.md):
util < formats < model, tokenizer < eval, decode < analysis, quant, lowrank, train
< export < compress, heal. Prints each include that points up; exit 1 if any."""
import glob, os, re, sys

RANK = {'util': 0, 'formats': 1, 'model': 2, 'tokenizer': 2, 'eval': 3, 'decode': 3,
        'analysis': 4, 'quant': 4, 'lowrank': 4, 'train': 4, 'export': 5, 'compress': 6, 'heal': 6}
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
bad = 0
for f in sorted(glob.glob(os.path.join(root, 'core', '**', '*.*'), recursive=True)):
    if not f.endswith(('.h', '.cpp')):
        continue
    rel = os.path.relpath(f, root)
    layer = rel.split('/')[1]
    if layer not in RANK:
        print(f'{rel}: directory core/{layer} has no layer in scripts/check_layers.py'); bad += 1; continue
    for inc in re.findall(r'#include "([^"]+)"', open(f).read()):
        target = inc.split('/')[1] if inc.startswith('core/') else layer
        if RANK.get(target, -1) > RANK[layer]:
            print(f'{rel}: includes {inc}, a layer above core/{layer}'); bad += 1
print(f'{bad} upward includes' if bad else 'core/ layers: every include points down')
sys.exit(1 if bad else 0)
