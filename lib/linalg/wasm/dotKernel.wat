;; Squared euclidean distance tiles by the dot-product expansion |x|^2 + |y|^2 - 2 x.y, WebAssembly SIMD.
;; Source of dotKernelBytes.ts; rebuild with `npm run build:wasm` (scripts/buildDotKernel.mjs).
;;
;; Micro-kernel: 4 query rows x 8 reference rows (2 f32x4 vectors), the GEMM register blocking of
;; Goto & van de Geijn, "Anatomy of high-performance matrix multiplication" (ACM TOMS 2008): for each feature
;; t, one query value is broadcast (v128.load32_splat) and multiplied with 8 reference values of the same
;; feature. So every lane holds ONE pair and accumulates its dot product as
;;     acc = f32(acc + f32(q_t * r_t)),  t = 0, 1, ..., d-1
;; the same sequence for every pair whatever the tiling, and the same sequence as the row norms (computed in
;; JS with Math.fround), so identical rows get distance exactly 0. No fused multiply-add (relaxed SIMD would
;; make the result depend on the CPU). Measured 4x8 as the fastest of 4x8, 4x12, 6x8, 8x4, 2x16, 5x8 (x64,
;; V8 12, 15 usable xmm registers): 20 G pair-features/s per core.
;;
;; Memory layout (byte offsets chosen by the caller, all 16-byte aligned):
;;   q     group g of 4 query rows at qPtr + g*d*16, feature-major: [t][4] f32
;;   qNorm f64 per query row (4 per group)
;;   r     panel p of 8 reference rows at rPtr + p*d*32, feature-major: [t][8] f32
;;   rNorm f64 per reference row (8 per panel)
;;   bound f64 per query row: the caller's admission bound (current k-th distance, +Infinity when not full)
;;   out   f64, row i at outPtr + i*nPanels*64: v = (qNorm_i + rNorm_j) - 2*f64(dot_ij), out[i][j] = 0 < v ? v : 0
;;         (f64x2.pmax(0, v): the JS `v > 0 ? v : 0`, NaN and -0 included)
;;   mask  u8 per query row and panel at maskPtr + i*nPanels + p: bit l set when out[i][8p + l] <= bound_i,
;;         so the host skips the (after the first tiles, nearly all) panels that cannot enter a top-k list
;; Padding rows (zeros) are the caller's: every group and panel is computed whole.
(module
  ;; The host creates the memory at its final size: growing it would detach the old ArrayBuffer, and one
  ;; detached buffer makes V8 add detach checks to every typed-array access in the process (about 2x slower).
  (import "env" "memory" (memory 1))
  (func (export "distances")
    (param $qPtr i32) (param $qNormPtr i32) (param $nGroups i32)
    (param $rPtr i32) (param $rNormPtr i32) (param $nPanels i32)
    (param $d i32) (param $outPtr i32) (param $boundPtr i32) (param $maskPtr i32)
    (local $g i32) (local $p i32) (local $t i32) (local $qp i32) (local $rp i32) (local $o i32)
    (local $stride i32) (local $qn i32) (local $rn i32) (local $b i32) (local $m i32)
    (local $a v128) (local $r0 v128) (local $r1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $stride (i32.mul (local.get $nPanels) (i32.const 64)))
    (local.set $g (i32.const 0))
    (block $groupsDone
      (loop $groups
        (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $nGroups)))
        (local.set $p (i32.const 0))
        (block $panelsDone
          (loop $panels
            (br_if $panelsDone (i32.ge_u (local.get $p) (local.get $nPanels)))
            (local.set $qp (i32.add (local.get $qPtr) (i32.mul (local.get $g) (i32.shl (local.get $d) (i32.const 4)))))
            (local.set $rp (i32.add (local.get $rPtr) (i32.mul (local.get $p) (i32.shl (local.get $d) (i32.const 5)))))
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $t (local.get $d))
            (block $featuresDone
              (loop $features
                (br_if $featuresDone (i32.eqz (local.get $t)))
                (local.set $r0 (v128.load offset=0 (local.get $rp)))
                (local.set $r1 (v128.load offset=16 (local.get $rp)))
                (local.set $a (v128.load32_splat offset=0 (local.get $qp)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $r0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=4 (local.get $qp)))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $r0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=8 (local.get $qp)))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $r0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=12 (local.get $qp)))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $r0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $r1))))
                (local.set $qp (i32.add (local.get $qp) (i32.const 16)))
                (local.set $rp (i32.add (local.get $rp) (i32.const 32)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $features)))
            ;; out row (4g + i), columns 8p .. 8p+7
            (local.set $o (i32.add (i32.add (local.get $outPtr) (i32.mul (i32.shl (local.get $g) (i32.const 2)) (local.get $stride)))
              (i32.shl (local.get $p) (i32.const 6))))
            (local.set $qn (i32.add (local.get $qNormPtr) (i32.shl (local.get $g) (i32.const 5))))
            (local.set $b (i32.add (local.get $boundPtr) (i32.shl (local.get $g) (i32.const 5))))
            (local.set $rn (i32.add (local.get $rNormPtr) (i32.shl (local.get $p) (i32.const 6))))
            (local.set $m (i32.add (local.get $maskPtr)
              (i32.add (i32.mul (i32.shl (local.get $g) (i32.const 2)) (local.get $nPanels)) (local.get $p))))
            (i32.store8 (local.get $m) (call $storeRow (local.get $o) (f64.load offset=0 (local.get $qn))
              (f64.load offset=0 (local.get $b)) (local.get $rn) (local.get $c00) (local.get $c01)))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (local.set $m (i32.add (local.get $m) (local.get $nPanels)))
            (i32.store8 (local.get $m) (call $storeRow (local.get $o) (f64.load offset=8 (local.get $qn))
              (f64.load offset=8 (local.get $b)) (local.get $rn) (local.get $c10) (local.get $c11)))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (local.set $m (i32.add (local.get $m) (local.get $nPanels)))
            (i32.store8 (local.get $m) (call $storeRow (local.get $o) (f64.load offset=16 (local.get $qn))
              (f64.load offset=16 (local.get $b)) (local.get $rn) (local.get $c20) (local.get $c21)))
            (local.set $o (i32.add (local.get $o) (local.get $stride)))
            (local.set $m (i32.add (local.get $m) (local.get $nPanels)))
            (i32.store8 (local.get $m) (call $storeRow (local.get $o) (f64.load offset=24 (local.get $qn))
              (f64.load offset=24 (local.get $b)) (local.get $rn) (local.get $c30) (local.get $c31)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $panels)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups)))
  )
  ;; Writes the 8 distances of one query row (see out above; the 8 dots are the f32 lanes of lo then hi) and
  ;; returns their mask against the row's bound. Each pair of lanes: v = pmax(0, (q + r) - (dot + dot)).
  (func $storeRow (param $o i32) (param $qNorm f64) (param $bound f64) (param $rn i32) (param $lo v128) (param $hi v128)
    (result i32)
    (local $q v128) (local $bnd v128) (local $dot v128) (local $v v128) (local $mask i32)
    (local.set $q (f64x2.splat (local.get $qNorm)))
    (local.set $bnd (f64x2.splat (local.get $bound)))
    (local.set $dot (f64x2.promote_low_f32x4 (local.get $lo)))
    (local.set $v (f64x2.pmax (v128.const f64x2 0 0)
      (f64x2.sub (f64x2.add (local.get $q) (v128.load offset=0 (local.get $rn))) (f64x2.add (local.get $dot) (local.get $dot)))))
    (v128.store offset=0 (local.get $o) (local.get $v))
    (local.set $mask (i64x2.bitmask (f64x2.le (local.get $v) (local.get $bnd))))
    (local.set $dot (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))))
    (local.set $v (f64x2.pmax (v128.const f64x2 0 0)
      (f64x2.sub (f64x2.add (local.get $q) (v128.load offset=16 (local.get $rn))) (f64x2.add (local.get $dot) (local.get $dot)))))
    (v128.store offset=16 (local.get $o) (local.get $v))
    (local.set $mask (i32.or (local.get $mask) (i32.shl (i64x2.bitmask (f64x2.le (local.get $v) (local.get $bnd))) (i32.const 2))))
    (local.set $dot (f64x2.promote_low_f32x4 (local.get $hi)))
    (local.set $v (f64x2.pmax (v128.const f64x2 0 0)
      (f64x2.sub (f64x2.add (local.get $q) (v128.load offset=32 (local.get $rn))) (f64x2.add (local.get $dot) (local.get $dot)))))
    (v128.store offset=32 (local.get $o) (local.get $v))
    (local.set $mask (i32.or (local.get $mask) (i32.shl (i64x2.bitmask (f64x2.le (local.get $v) (local.get $bnd))) (i32.const 4))))
    (local.set $dot (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))))
    (local.set $v (f64x2.pmax (v128.const f64x2 0 0)
      (f64x2.sub (f64x2.add (local.get $q) (v128.load offset=48 (local.get $rn))) (f64x2.add (local.get $dot) (local.get $dot)))))
    (v128.store offset=48 (local.get $o) (local.get $v))
    (local.set $mask (i32.or (local.get $mask) (i32.shl (i64x2.bitmask (f64x2.le (local.get $v) (local.get $bnd))) (i32.const 6))))
    (local.get $mask)
  )
;; Candidate masks from 16-bit codes (int16Codes.ts): the same 4 x 8 blocking, on pairs of features. Each
  ;; 32-bit word holds features 2u and 2u + 1 of one row, so one i32x4.dot_i16x8_s multiplies a broadcast query
  ;; pair with the pairs of 4 reference rows and adds each row's two products: 8 multiply-adds per instruction,
  ;; twice the f32 kernel's. Integer arithmetic is exact (the codes are small enough that no sum overflows), so
  ;; the mask is exactly "|r|^2 - 2 q.r <= bound" in codes; the host widens the bound by the coding error and
  ;; recomputes flagged pairs with the f32 sequence above, which keeps every result bit-identical.
  ;;   q     group g of 4 query rows at qPtr + g*pairs*16: [u][4] i32 (two i16)
  ;;   r     panel p of 8 reference rows at rPtr + p*pairs*32: [u][8] i32 (two i16)
  ;;   rNorm i32 |r|^2 per reference row (8 per panel); bound i32 per query row
  ;;   out   the flagged (query row, panel)s, an i32 each: ((i*nPanels + p) << 8) | mask, bit l of mask set when
  ;;         reference row 8p + l is a candidate; rows in order within a group, groups and panels ascending.
  ;;         Returns their count, so the host visits only them (most panels flag nothing).
  (func (export "candidates")
    (param $qPtr i32) (param $nGroups i32) (param $rPtr i32) (param $rNormPtr i32) (param $nPanels i32)
    (param $pairs i32) (param $boundPtr i32) (param $outPtr i32) (result i32)
    (local $g i32) (local $p i32) (local $u i32) (local $qp i32) (local $rp i32) (local $b i32)
    (local $o i32) (local $cell i32)
    (local $n0 v128) (local $n1 v128)
    (local $a v128) (local $r0 v128) (local $r1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $o (local.get $outPtr))
    (local.set $g (i32.const 0))
    (block $groupsDone
      (loop $groups
        (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $nGroups)))
        (local.set $p (i32.const 0))
        (block $panelsDone
          (loop $panels
            (br_if $panelsDone (i32.ge_u (local.get $p) (local.get $nPanels)))
            (local.set $qp (i32.add (local.get $qPtr) (i32.mul (local.get $g) (i32.shl (local.get $pairs) (i32.const 4)))))
            (local.set $rp (i32.add (local.get $rPtr) (i32.mul (local.get $p) (i32.shl (local.get $pairs) (i32.const 5)))))
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $u (local.get $pairs))
            (block $pairsDone
              (loop $pairLoop
                (br_if $pairsDone (i32.eqz (local.get $u)))
                (local.set $r0 (v128.load offset=0 (local.get $rp)))
                (local.set $r1 (v128.load offset=16 (local.get $rp)))
                (local.set $a (v128.load32_splat offset=0 (local.get $qp)))
                (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $a) (local.get $r0))))
                (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=4 (local.get $qp)))
                (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $a) (local.get $r0))))
                (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=8 (local.get $qp)))
                (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $a) (local.get $r0))))
                (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $a) (local.get $r1))))
                (local.set $a (v128.load32_splat offset=12 (local.get $qp)))
                (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $a) (local.get $r0))))
                (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $a) (local.get $r1))))
                (local.set $qp (i32.add (local.get $qp) (i32.const 16)))
                (local.set $rp (i32.add (local.get $rp) (i32.const 32)))
                (local.set $u (i32.sub (local.get $u) (i32.const 1)))
                (br $pairLoop)))
            (local.set $n0 (v128.load offset=0 (i32.add (local.get $rNormPtr) (i32.shl (local.get $p) (i32.const 5)))))
            (local.set $n1 (v128.load offset=16 (i32.add (local.get $rNormPtr) (i32.shl (local.get $p) (i32.const 5)))))
            (local.set $b (i32.add (local.get $boundPtr) (i32.shl (local.get $g) (i32.const 4))))
            (local.set $cell (i32.add (i32.mul (i32.shl (local.get $g) (i32.const 2)) (local.get $nPanels)) (local.get $p)))
            (local.set $o (call $flag (local.get $o) (local.get $cell) (call $candidateRow (i32.load offset=0 (local.get $b))
              (local.get $n0) (local.get $n1) (local.get $c00) (local.get $c01))))
            (local.set $cell (i32.add (local.get $cell) (local.get $nPanels)))
            (local.set $o (call $flag (local.get $o) (local.get $cell) (call $candidateRow (i32.load offset=4 (local.get $b))
              (local.get $n0) (local.get $n1) (local.get $c10) (local.get $c11))))
            (local.set $cell (i32.add (local.get $cell) (local.get $nPanels)))
            (local.set $o (call $flag (local.get $o) (local.get $cell) (call $candidateRow (i32.load offset=8 (local.get $b))
              (local.get $n0) (local.get $n1) (local.get $c20) (local.get $c21))))
            (local.set $cell (i32.add (local.get $cell) (local.get $nPanels)))
            (local.set $o (call $flag (local.get $o) (local.get $cell) (call $candidateRow (i32.load offset=12 (local.get $b))
              (local.get $n0) (local.get $n1) (local.get $c30) (local.get $c31))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $panels)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups)))
    (i32.shr_u (i32.sub (local.get $o) (local.get $outPtr)) (i32.const 2))
  )
  ;; Appends (cell << 8) | bits at address o when bits is not 0; returns the next address.
  (func $flag (param $o i32) (param $cell i32) (param $bits i32) (result i32)
    (if (result i32) (local.get $bits)
      (then
        (i32.store (local.get $o) (i32.or (i32.shl (local.get $cell) (i32.const 8)) (local.get $bits)))
        (i32.add (local.get $o) (i32.const 4)))
      (else (local.get $o)))
  )
  ;; The f32 distances of the pairs `candidates` flagged, by the sequence of `distances` above (bit-identical):
  ;; for entry e ((i*nPanels + p) << 8 | mask), the 8 pairs of query row i and panel p go to outPtr + e*64 as
  ;; f64. Query rows are row-major f32 at qPtr (d per row) with f64 norms; panels as in `distances`.
  (func (export "exactPanels")
    (param $entriesPtr i32) (param $count i32) (param $qPtr i32) (param $qNormPtr i32)
    (param $rPtr i32) (param $rNormPtr i32) (param $nPanels i32) (param $d i32) (param $outPtr i32)
    (local $e i32) (local $cell i32) (local $i i32) (local $p i32) (local $t i32) (local $qp i32) (local $rp i32)
    (local $a v128) (local $c0 v128) (local $c1 v128)
    (local.set $e (i32.const 0))
    (block $entriesDone
      (loop $entries
        (br_if $entriesDone (i32.ge_u (local.get $e) (local.get $count)))
        (local.set $cell (i32.shr_u (i32.load (i32.add (local.get $entriesPtr) (i32.shl (local.get $e) (i32.const 2))))
          (i32.const 8)))
        (local.set $i (i32.div_u (local.get $cell) (local.get $nPanels)))
        (local.set $p (i32.sub (local.get $cell) (i32.mul (local.get $i) (local.get $nPanels))))
        (local.set $qp (i32.add (local.get $qPtr) (i32.mul (local.get $i) (i32.shl (local.get $d) (i32.const 2)))))
        (local.set $rp (i32.add (local.get $rPtr) (i32.mul (local.get $p) (i32.shl (local.get $d) (i32.const 5)))))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $t (local.get $d))
        (block $featuresDone
          (loop $features
            (br_if $featuresDone (i32.eqz (local.get $t)))
            (local.set $a (v128.load32_splat (local.get $qp)))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $a) (v128.load offset=0 (local.get $rp)))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $a) (v128.load offset=16 (local.get $rp)))))
            (local.set $qp (i32.add (local.get $qp) (i32.const 4)))
            (local.set $rp (i32.add (local.get $rp) (i32.const 32)))
            (local.set $t (i32.sub (local.get $t) (i32.const 1)))
            (br $features)))
        (drop (call $storeRow (i32.add (local.get $outPtr) (i32.shl (local.get $e) (i32.const 6)))
          (f64.load (i32.add (local.get $qNormPtr) (i32.shl (local.get $i) (i32.const 3))))
          (f64.const 0) (i32.add (local.get $rNormPtr) (i32.shl (local.get $p) (i32.const 6)))
          (local.get $c0) (local.get $c1)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $entries)))
  )
  ;; Per-feature minimum and maximum of n rows of d f32 (row-major at src) into f32 low[d] and high[d], which
  ;; hold the running values (the host starts them at +-Infinity). f32x4.min/max propagate NaN.
  (func (export "range") (param $src i32) (param $n i32) (param $d i32) (param $low i32) (param $high i32)
    (local $i i32) (local $t i32) (local $row i32) (local $x v128) (local $f f32) (local $d4 i32)
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $row (local.get $src))
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $t (i32.const 0))
        (block $vectorDone
          (loop $vector
            (br_if $vectorDone (i32.ge_u (local.get $t) (local.get $d4)))
            (local.set $x (v128.load (i32.add (local.get $row) (i32.shl (local.get $t) (i32.const 2)))))
            (v128.store (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 2)))
              (f32x4.min (v128.load (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 2)))) (local.get $x)))
            (v128.store (i32.add (local.get $high) (i32.shl (local.get $t) (i32.const 2)))
              (f32x4.max (v128.load (i32.add (local.get $high) (i32.shl (local.get $t) (i32.const 2)))) (local.get $x)))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $vector)))
        (block $scalarDone
          (loop $scalar
            (br_if $scalarDone (i32.ge_u (local.get $t) (local.get $d)))
            (local.set $f (f32.load (i32.add (local.get $row) (i32.shl (local.get $t) (i32.const 2)))))
            (f32.store (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 2)))
              (f32.min (f32.load (i32.add (local.get $low) (i32.shl (local.get $t) (i32.const 2)))) (local.get $f)))
            (f32.store (i32.add (local.get $high) (i32.shl (local.get $t) (i32.const 2)))
              (f32.max (f32.load (i32.add (local.get $high) (i32.shl (local.get $t) (i32.const 2)))) (local.get $f)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $scalar)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $d) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
  )
  ;; 16-bit codes of n rows of d f32 (row-major at src): code = nearest((x - centre[t]) * inverse) in f32,
  ;; saturated to int16, written row-major at out with `width` i16 per row (the tail past d left as it is).
  ;; Returns the largest |code|, so the host can refuse a row outside the coded range.
  (func (export "encode") (param $src i32) (param $n i32) (param $d i32) (param $centre i32) (param $inverse f32)
    (param $out i32) (param $width i32) (result i32)
    (local $i i32) (local $t i32) (local $row i32) (local $o i32) (local $d8 i32) (local $inv v128)
    (local $lo v128) (local $hi v128) (local $codes v128) (local $top v128) (local $bottom v128) (local $c i32)
    (local $max i32)
    (local.set $d8 (i32.and (local.get $d) (i32.const -8)))
    (local.set $inv (f32x4.splat (local.get $inverse)))
    (local.set $top (v128.const i32x4 0 0 0 0))
    (local.set $bottom (v128.const i32x4 0 0 0 0))
    (local.set $row (local.get $src))
    (local.set $o (local.get $out))
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $t (i32.const 0))
        (block $vectorDone
          (loop $vector
            (br_if $vectorDone (i32.ge_u (local.get $t) (local.get $d8)))
            (local.set $lo (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $inv)
              (f32x4.sub (v128.load (i32.add (local.get $row) (i32.shl (local.get $t) (i32.const 2))))
                (v128.load (i32.add (local.get $centre) (i32.shl (local.get $t) (i32.const 2)))))))))
            (local.set $hi (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $inv)
              (f32x4.sub (v128.load offset=16 (i32.add (local.get $row) (i32.shl (local.get $t) (i32.const 2))))
                (v128.load offset=16 (i32.add (local.get $centre) (i32.shl (local.get $t) (i32.const 2)))))))))
            (local.set $codes (i16x8.narrow_i32x4_s (local.get $lo) (local.get $hi)))
            (v128.store (i32.add (local.get $o) (i32.shl (local.get $t) (i32.const 1))) (local.get $codes))
            (local.set $top (i16x8.max_s (local.get $top) (local.get $codes)))
            (local.set $bottom (i16x8.min_s (local.get $bottom) (local.get $codes)))
            (local.set $t (i32.add (local.get $t) (i32.const 8)))
            (br $vector)))
        (block $scalarDone
          (loop $scalar
            (br_if $scalarDone (i32.ge_u (local.get $t) (local.get $d)))
            (local.set $c (i32.trunc_sat_f32_s (f32.nearest (f32.mul (local.get $inverse)
              (f32.sub (f32.load (i32.add (local.get $row) (i32.shl (local.get $t) (i32.const 2))))
                (f32.load (i32.add (local.get $centre) (i32.shl (local.get $t) (i32.const 2)))))))))
            (if (i32.gt_s (local.get $c) (i32.const 32767)) (then (local.set $c (i32.const 32767))))
            (if (i32.lt_s (local.get $c) (i32.const -32767)) (then (local.set $c (i32.const -32767))))
            (i32.store16 (i32.add (local.get $o) (i32.shl (local.get $t) (i32.const 1))) (local.get $c))
            (if (i32.lt_s (local.get $c) (i32.const 0)) (then (local.set $c (i32.sub (i32.const 0) (local.get $c)))))
            (if (i32.gt_s (local.get $c) (local.get $max)) (then (local.set $max (local.get $c))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $scalar)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $d) (i32.const 2))))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $width) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    ;; the largest |code|: the largest lane of top and of -bottom (as i32, so -(-32768) does not wrap)
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 0 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 0 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 1 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 1 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 2 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 2 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 3 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 3 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 4 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 4 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 5 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 5 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 6 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 6 (local.get $bottom)))))
    (local.set $max (call $larger (local.get $max) (i16x8.extract_lane_s 7 (local.get $top))))
    (local.set $max (call $larger (local.get $max) (i32.sub (i32.const 0) (i16x8.extract_lane_s 7 (local.get $bottom)))))
    (local.get $max)
  )
;; Top-k selection (topK.ts's offerTopK over a tile row, as offerTileRows does): the host copies one list in
  ;; (k f64 distances at dPtr, k i32 indices at iPtr, sorted by (distance, index), empty slots +Infinity / -1)
  ;; and the row's references (i32 at refsPtr), and reads the list back. An entry enters when it ranks before
  ;; the last slot; a (distance, index) already listed is ignored. Two entries at a time are skipped while
  ;; both are above the last slot's distance, which after the first few entries is nearly every pair.
  (func (export "offerRow")
    (param $rowPtr i32) (param $n i32) (param $refsPtr i32) (param $dPtr i32) (param $iPtr i32) (param $k i32)
    (local $j i32) (local $lastD i32) (local $bound f64)
    (local.set $lastD (i32.add (local.get $dPtr) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 3))))
    (local.set $bound (f64.load (local.get $lastD)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $entries
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (if (i32.and (i32.le_u (i32.add (local.get $j) (i32.const 2)) (local.get $n))
              (i8x16.all_true (f64x2.gt (v128.load (i32.add (local.get $rowPtr) (i32.shl (local.get $j) (i32.const 3))))
                (f64x2.splat (local.get $bound)))))
          (then
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $entries)))
        (call $offerEntry
          (f64.load (i32.add (local.get $rowPtr) (i32.shl (local.get $j) (i32.const 3))))
          (i32.load (i32.add (local.get $refsPtr) (i32.shl (local.get $j) (i32.const 2))))
          (local.get $dPtr) (local.get $iPtr) (local.get $k))
        (local.set $bound (f64.load (local.get $lastD)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $entries)))
  )
  ;; offerTopK for one candidate (v, r): its slot p (entries that rank after it move down one), unless the
  ;; entry before p is the same (distance, index). Distances alone decide until one is equal to v.
  (func $offerEntry (param $v f64) (param $r i32) (param $dPtr i32) (param $iPtr i32) (param $k i32)
    (local $p i32) (local $s i32) (local $at f64)
    (local.set $p (i32.sub (local.get $k) (i32.const 1)))
    (local.set $at (f64.load (i32.add (local.get $dPtr) (i32.shl (local.get $p) (i32.const 3)))))
    (if (i32.eqz (f64.lt (local.get $v) (local.get $at)))
      (then
        (if (i32.eqz (call $ranksBefore (local.get $v) (local.get $r) (local.get $at)
              (i32.load (i32.add (local.get $iPtr) (i32.shl (local.get $p) (i32.const 2))))))
          (then (return)))))
    (block $found
      (loop $search
        (br_if $found (i32.eqz (local.get $p)))
        (local.set $at (f64.load (i32.add (local.get $dPtr) (i32.shl (i32.sub (local.get $p) (i32.const 1)) (i32.const 3)))))
        (br_if $found (f64.gt (local.get $v) (local.get $at)))
        (if (i32.eqz (f64.lt (local.get $v) (local.get $at)))
          (then
            (br_if $found (i32.eqz (call $ranksBefore (local.get $v) (local.get $r) (local.get $at)
              (i32.load (i32.add (local.get $iPtr) (i32.shl (i32.sub (local.get $p) (i32.const 1)) (i32.const 2)))))))))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $search)))
    (if (i32.and (i32.gt_u (local.get $p) (i32.const 0))
          (i32.eq (i32.load (i32.add (local.get $iPtr) (i32.shl (i32.sub (local.get $p) (i32.const 1)) (i32.const 2))))
            (local.get $r)))
      (then (return)))
    (local.set $s (i32.sub (local.get $k) (i32.const 1)))
    (block $shifted
      (loop $shift
        (br_if $shifted (i32.le_u (local.get $s) (local.get $p)))
        (f64.store (i32.add (local.get $dPtr) (i32.shl (local.get $s) (i32.const 3)))
          (f64.load (i32.add (local.get $dPtr) (i32.shl (i32.sub (local.get $s) (i32.const 1)) (i32.const 3)))))
        (i32.store (i32.add (local.get $iPtr) (i32.shl (local.get $s) (i32.const 2)))
          (i32.load (i32.add (local.get $iPtr) (i32.shl (i32.sub (local.get $s) (i32.const 1)) (i32.const 2)))))
        (local.set $s (i32.sub (local.get $s) (i32.const 1)))
        (br $shift)))
    (f64.store (i32.add (local.get $dPtr) (i32.shl (local.get $p) (i32.const 3))) (local.get $v))
    (i32.store (i32.add (local.get $iPtr) (i32.shl (local.get $p) (i32.const 2))) (local.get $r))
  )
  ;; topK.ts's ranksBefore: (d1, i1) before (d2, i2) by distance, then index, an empty slot (index -1) last.
  (func $ranksBefore (param $d1 f64) (param $i1 i32) (param $d2 f64) (param $i2 i32) (result i32)
    (if (f64.lt (local.get $d1) (local.get $d2)) (then (return (i32.const 1))))
    (if (i32.or (f64.gt (local.get $d1) (local.get $d2)) (i32.lt_s (local.get $i1) (i32.const 0)))
      (then (return (i32.const 0))))
    (i32.or (i32.lt_s (local.get $i2) (i32.const 0)) (i32.lt_s (local.get $i1) (local.get $i2)))
  )
  (func $larger (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.gt_s (local.get $a) (local.get $b)))
  )
  ;; The 8 mask bits of one query row: lane l of lo (bits 0-3) then hi (bits 4-7) when |r|^2 - 2 q.r <= bound.
  (func $candidateRow (param $bound i32) (param $n0 v128) (param $n1 v128) (param $lo v128) (param $hi v128)
    (result i32)
    (local $bnd v128)
    (local.set $bnd (i32x4.splat (local.get $bound)))
    (i32.or
      (i32x4.bitmask (i32x4.le_s (i32x4.sub (local.get $n0) (i32x4.shl (local.get $lo) (i32.const 1))) (local.get $bnd)))
      (i32.shl
        (i32x4.bitmask (i32x4.le_s (i32x4.sub (local.get $n1) (i32x4.shl (local.get $hi) (i32.const 1))) (local.get $bnd)))
        (i32.const 4)))
  )
  ;; The kernels' block layout: n rows of `width` 32-bit values (row-major at src) become blocks of `lanes` rows
  ;; (4: query groups, 8: reference panels), value-major within a block: row r's value e goes to
  ;; dst + ((r / lanes) * lanes * width + e * lanes + r % lanes) * 4. The rows after n, up to a whole block, are
  ;; zeros. Bit copies, so f32 rows and i32 code words alike. Whole blocks of 4 or 8 rows move 4 values of 4 rows
  ;; at a time ($transpose4); the rest value by value ($laneValues).
  (func (export "panels") (param $src i32) (param $n i32) (param $width i32) (param $lanes i32) (param $dst i32)
    (local $r0 i32) (local $r i32) (local $width4 i32) (local $blockBytes i32) (local $block i32) (local $from i32)
    (local.set $width4 (i32.and (local.get $width) (i32.const -4)))
    (local.set $blockBytes (i32.shl (i32.mul (local.get $lanes) (local.get $width)) (i32.const 2)))
    (local.set $block (local.get $dst))
    (local.set $r0 (i32.const 0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $r0) (local.get $n)))
        (local.set $from (i32.const 0))
        (if (i32.and
              (i32.le_u (i32.add (local.get $r0) (local.get $lanes)) (local.get $n))
              (i32.or (i32.eq (local.get $lanes) (i32.const 4)) (i32.eq (local.get $lanes) (i32.const 8))))
          (then
            (call $transpose4 (i32.add (local.get $src) (i32.shl (i32.mul (local.get $r0) (local.get $width)) (i32.const 2)))
              (local.get $width) (local.get $width4) (local.get $block) (local.get $lanes))
            (if (i32.eq (local.get $lanes) (i32.const 8))
              (then
                (call $transpose4
                  (i32.add (local.get $src)
                    (i32.shl (i32.mul (i32.add (local.get $r0) (i32.const 4)) (local.get $width)) (i32.const 2)))
                  (local.get $width) (local.get $width4) (i32.add (local.get $block) (i32.const 16)) (local.get $lanes))))
            (local.set $from (local.get $width4))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $lanes)))
            (call $laneValues (local.get $src) (i32.add (local.get $r0) (local.get $r)) (local.get $n)
              (local.get $width) (local.get $from) (local.get $lanes)
              (i32.add (local.get $block) (i32.shl (local.get $r) (i32.const 2))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        (local.set $block (i32.add (local.get $block) (local.get $blockBytes)))
        (local.set $r0 (i32.add (local.get $r0) (local.get $lanes)))
        (br $blocks)))
  )
  ;; Values from .. width - 1 of row `row` (zeros when row >= n) to out + e * lanes * 4, e = from ...
  (func $laneValues (param $src i32) (param $row i32) (param $n i32) (param $width i32) (param $from i32)
    (param $lanes i32) (param $lane i32)
    (local $e i32) (local $in i32) (local $out i32) (local $step i32)
    (local.set $step (i32.shl (local.get $lanes) (i32.const 2)))
    (local.set $out (i32.add (local.get $lane) (i32.mul (local.get $from) (local.get $step))))
    (local.set $in (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $row) (local.get $width))
      (local.get $from)) (i32.const 2))))
    (local.set $e (local.get $from))
    (block $done
      (loop $values
        (br_if $done (i32.ge_u (local.get $e) (local.get $width)))
        (i32.store (local.get $out)
          (select (i32.load (local.get $in)) (i32.const 0) (i32.lt_u (local.get $row) (local.get $n))))
        (local.set $out (i32.add (local.get $out) (local.get $step)))
        (local.set $in (i32.add (local.get $in) (i32.const 4)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $values)))
  )
  ;; Values 0 .. width4 - 1 (a multiple of 4) of the 4 rows at src (row-major, `width` values each) into lanes
  ;; 0 .. 3 of a block at dst with `lanes` lanes (value e of row r at dst + (e * lanes + r) * 4): 4 x 4 transposes.
  (func $transpose4 (param $src i32) (param $width i32) (param $width4 i32) (param $dst i32) (param $lanes i32)
    (local $e i32) (local $rowBytes i32) (local $step i32) (local $in i32) (local $out i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rowBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $step (i32.shl (local.get $lanes) (i32.const 2)))
    (local.set $in (local.get $src))
    (local.set $out (local.get $dst))
    (local.set $e (i32.const 0))
    (block $done
      (loop $columns
        (br_if $done (i32.ge_u (local.get $e) (local.get $width4)))
        (local.set $r0 (v128.load (local.get $in)))
        (local.set $r1 (v128.load (i32.add (local.get $in) (local.get $rowBytes))))
        (local.set $r2 (v128.load (i32.add (local.get $in) (i32.shl (local.get $rowBytes) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $in) (i32.mul (local.get $rowBytes) (i32.const 3)))))
        ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (v128.store (local.get $out)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $out) (local.get $step))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $step) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $out) (i32.mul (local.get $step) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $in (i32.add (local.get $in) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $step) (i32.const 2))))
        (local.set $e (i32.add (local.get $e) (i32.const 4)))
        (br $columns)))
  )
  ;; Per row of n rows of `pairs` code words (row-major at src, two 16-bit codes per word), the sum of its
  ;; squared codes into i32 at dst: int16Codes.ts's codeNorm, exact (the codes' limit keeps it below 2^31).
  (func (export "codeNorms") (param $src i32) (param $n i32) (param $pairs i32) (param $dst i32)
    (local $r i32) (local $u i32) (local $p4 i32) (local $row i32) (local $acc v128) (local $v v128)
    (local $s i32) (local $w i32)
    (local.set $p4 (i32.and (local.get $pairs) (i32.const -4)))
    (local.set $row (local.get $src))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $u (i32.const 0))
        (block $vectorDone
          (loop $vector
            (br_if $vectorDone (i32.ge_u (local.get $u) (local.get $p4)))
            (local.set $v (v128.load (i32.add (local.get $row) (i32.shl (local.get $u) (i32.const 2)))))
            (local.set $acc (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.get $v) (local.get $v))))
            (local.set $u (i32.add (local.get $u) (i32.const 4)))
            (br $vector)))
        (local.set $s (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
          (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        (block $scalarDone
          (loop $scalar
            (br_if $scalarDone (i32.ge_u (local.get $u) (local.get $pairs)))
            (local.set $w (i32.load (i32.add (local.get $row) (i32.shl (local.get $u) (i32.const 2)))))
            (local.set $s (i32.add (local.get $s)
              (i32.add (i32.mul (i32.extend16_s (local.get $w)) (i32.extend16_s (local.get $w)))
                (i32.mul (i32.shr_s (local.get $w) (i32.const 16)) (i32.shr_s (local.get $w) (i32.const 16))))))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $scalar)))
        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $pairs) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
  )
)
