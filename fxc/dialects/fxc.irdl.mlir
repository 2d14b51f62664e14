// The fxc dialect: its one source of truth.
//
// Loaded at run time with `irdl.load_dialects` (fxc/dialects/fxc.py) and by
// `torch-mlir-opt --irdl-file=fxc/dialects/fxc.irdl.mlir`.
//
// IRDL here gives structure: operand/result counts and the token type.  Rules
// IRDL cannot state are checked by the `fxc-verify` pass, which `fxc-opt` runs
// after parsing and the compiler runs after import; each op below lists both.
//
// Why argument *slots* and not one variadic group: in this LLVM's IRDL a
// constraint variable binds to the first type it sees, so every value of a
// variadic group must have the same type.  A wrapped op's arguments
// (a !torch.vtensor, a !torch.float, a !torch.list<int>...) differ, so each
// argument gets its own optional slot with its own `irdl.any` variable, and
// `operandSegmentSizes` / `resultSegmentSizes` say which slots are used.
// Slots are filled in order with no gaps (fxc-verify).  The limits
// (12 arguments, 4 results) cover every op PyTorch allows under
// out_dtype (convolution has 9) and the effectful ops seen in practice; the
// importer reports an op that needs more.
//
// Why the wrapped op is an attribute and not a region: an effectful op is often
// one torch-mlir has no op for (a custom `torch.library` op, a torchbind
// method), it must not be touched by torch-mlir's simplification passes (which
// would rewrite a torch op found inside a region, e.g. re-infer its dtype), and
// IRDL cannot declare the terminator a region would need.  The attribute `op`
// is PyTorch's qualified overload name (`aten.mm.default`,
// `mylib.record.default`), which names the schema the operands follow.

irdl.dialect @fxc {

  // !fxc.token: an effect token.  Threads the order of side effects through
  // SSA: an op that consumes a token happens after the op that produced it.
  // It carries no data and disappears in fxc-lower-effects.
  irdl.type @token {
  }

  // fxc.make_token: a fresh token (PyTorch's prims._make_token).
  //   Verifier: no operands, one !fxc.token result.
  irdl.operation @make_token {
    %tok = irdl.base @fxc::@token
    irdl.results(token: %tok)
  }

  // fxc.sink_tokens: consumes the final tokens (PyTorch's prims._sink_tokens).
  //   Verifier: any number of !fxc.token operands, no results.
  irdl.operation @sink_tokens {
    %tok = irdl.base @fxc::@token
    irdl.operands(tokens: variadic %tok)
  }

  // fxc.with_effects: runs the effectful op `op` (a PyTorch overload name) on
  // the arguments in the used arg slots, in schema order, after the effect
  // that produced `in_token`; yields `out_token` and the op's results.
  //   Verifier (IRDL): one !fxc.token in, one !fxc.token out, segment sizes.
  //   Verifier (fxc-verify): `op` names a registered PyTorch operator whose
  //   schema takes as many arguments as there are used slots; slots are
  //   filled without gaps; the op neither mutates nor aliases its arguments;
  //   it returns at least as many tensors as there are result slots; each
  //   token is used at most once.
  irdl.operation @with_effects {
    %tok = irdl.base @fxc::@token
    %str = irdl.base "#builtin.string"
    %a0 = irdl.any
    %a1 = irdl.any
    %a2 = irdl.any
    %a3 = irdl.any
    %a4 = irdl.any
    %a5 = irdl.any
    %a6 = irdl.any
    %a7 = irdl.any
    %a8 = irdl.any
    %a9 = irdl.any
    %a10 = irdl.any
    %a11 = irdl.any
    %r0 = irdl.any
    %r1 = irdl.any
    %r2 = irdl.any
    %r3 = irdl.any
    irdl.operands(in_token: %tok, arg0: optional %a0, arg1: optional %a1, arg2: optional %a2, arg3: optional %a3, arg4: optional %a4, arg5: optional %a5, arg6: optional %a6, arg7: optional %a7, arg8: optional %a8, arg9: optional %a9, arg10: optional %a10, arg11: optional %a11)
    irdl.results(out_token: %tok, result0: optional %r0, result1: optional %r1, result2: optional %r2, result3: optional %r3)
    irdl.attributes { "op" = %str }
  }

  // fxc.out_dtype: computes the functional op `op` on the arguments in the used
  // slots with PyTorch's out_dtype semantics: tensor arguments are promoted
  // together with `out_dtype`, the op runs in that type, and the result is
  // cast to `out_dtype`.
  //   Verifier (IRDL): exactly one result; `op` is a string, `out_dtype` a
  //   type.  (The result is not constrained to !torch.vtensor here because
  //   `torch-mlir-opt --irdl-file` loads this file before the torch dialect.)
  //   Verifier (fxc-verify): the result is a !torch.vtensor; `op` names a
  //   functional PyTorch operator with one tensor result; `out_dtype` is a
  //   PyTorch dtype and equals the result's element type; slots are filled
  //   without gaps, match the schema's argument count, and hold tensors
  //   exactly where the schema takes tensors.
  irdl.operation @out_dtype {
    %res = irdl.any
    %str = irdl.base "#builtin.string"
    %ty = irdl.base "#builtin.type"
    %a0 = irdl.any
    %a1 = irdl.any
    %a2 = irdl.any
    %a3 = irdl.any
    %a4 = irdl.any
    %a5 = irdl.any
    %a6 = irdl.any
    %a7 = irdl.any
    %a8 = irdl.any
    %a9 = irdl.any
    %a10 = irdl.any
    %a11 = irdl.any
    irdl.operands(arg0: optional %a0, arg1: optional %a1, arg2: optional %a2, arg3: optional %a3, arg4: optional %a4, arg5: optional %a5, arg6: optional %a6, arg7: optional %a7, arg8: optional %a8, arg9: optional %a9, arg10: optional %a10, arg11: optional %a11)
    irdl.results(result: %res)
    irdl.attributes { "op" = %str, "out_dtype" = %ty }
  }

  // -- autocast ----------------------------------------------------------
  //
  // An autocast region (PyTorch's `with torch.autocast(device, dtype,
  // enabled, cache_enabled)`, exported as the `wrap_with_autocast`
  // higher-order op) is the ops of one block between an `fxc.autocast_enter`
  // and the `fxc.autocast_exit` that consumes its scope; regions nest.
  // fxc-apply-autocast applies PyTorch's autocast policy to every op between
  // the two (ops in nested regions of those ops included) and removes them.
  //
  // Why two marker ops and not one op with a region or a call: IRDL cannot
  // declare the terminator a region needs, and an op calling a private
  // function would need one operand and one result per value crossing the
  // region, of different types, which this LLVM's IRDL cannot declare (see
  // the argument slots above; a region's inputs are often dozens of
  // weights).  Markers keep the region's ops in the caller's block, where the
  // cast cache (one cast per value and dtype per region) can place a cast
  // so that it dominates every use in the region.  They are ordered by the
  // block and nothing between import and fxc-apply-autocast moves ops.

  // !fxc.autocast_scope: links an autocast_exit to its autocast_enter.
  irdl.type @autocast_scope {
  }

  // fxc.autocast_enter: opens an autocast region.
  //   Attributes: `device` (a string, "cpu"), `dtype` (the region's lower
  //   precision type, bf16 or f16), `enabled` and `cache_enabled` (bools).
  //   Verifier (IRDL): no operands, one !fxc.autocast_scope result.
  //   Verifier (fxc-apply-autocast): the scope is consumed by exactly one
  //   fxc.autocast_exit in the same block, after it, and regions nest.
  irdl.operation @autocast_enter {
    %scope = irdl.base @fxc::@autocast_scope
    %str = irdl.base "#builtin.string"
    %ty = irdl.base "#builtin.type"
    // One variable per attribute: an IRDL variable binds to the first
    // value it sees, so a shared one would force enabled == cache_enabled.
    %enabled = irdl.base "#builtin.integer"
    %cache = irdl.base "#builtin.integer"
    irdl.results(scope: %scope)
    irdl.attributes { "device" = %str, "dtype" = %ty, "enabled" = %enabled, "cache_enabled" = %cache }
  }

  // fxc.autocast_exit: closes the autocast region `scope` opened.
  //   Verifier (IRDL): one !fxc.autocast_scope operand, no results.
  irdl.operation @autocast_exit {
    %scope = irdl.base @fxc::@autocast_scope
    irdl.operands(scope: %scope)
  }
}
