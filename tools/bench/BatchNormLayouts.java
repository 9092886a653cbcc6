import java.util.*;
import org.bytedeco.dnnl.*;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Loader;
/**
 * oneDNN's batch-norm training passes by themselves in three layouts (NCHW, nChw16c, NHWC) on
 * DenseNet shapes, with the cost of converting NCHW to each layout: why {@code OneDnnBatchNorm} runs
 * in the blocked layout. Median of 11 runs after 3, operands filled (untouched pages read as zeros
 * for free and flatter the kernels).
 *
 * <pre>
 * OMP_NUM_THREADS=2 java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" \
 *     tools/bench/BatchNormLayouts.java
 * </pre>
 */
public class BatchNormLayouts {
  static double time(Runnable r) { for (int i=0;i<3;i++) r.run(); double[] t=new double[11]; for (int i=0;i<t.length;i++){long a=System.nanoTime(); r.run(); t[i]=(System.nanoTime()-a)/1e6;} Arrays.sort(t); return t[t.length/2]; }
  public static void main(String[] a) {
    Loader.load(dnnl.class);
    engine eng = new engine(engine.kind.cpu, 0); stream s = new stream(eng);
    long[][] shapes = {{8, 256, 56, 56}, {8, 480, 28, 28}, {64, 192, 14, 14}};
    for (long[] sh : shapes) {
      for (String tag : new String[]{"nchw", "nChw16c", "nhwc"}) {
        memory.desc d = new memory.desc(sh, memory.data_type.f32, memory.format_tag.valueOf(tag));
        int f = dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value;
        var fw = new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(dnnl.prop_kind.forward_training.value, d, 1e-5f, f), eng);
        var bw = new batch_normalization_backward.primitive_desc(new batch_normalization_backward.desc(dnnl.prop_kind.backward.value, d, d, 1e-5f, f), eng, fw);
        memory.desc pc = new memory.desc(new long[]{sh[1]}, memory.data_type.f32, memory.format_tag.a);
        memory x = new memory(d, eng), y = new memory(d, eng), g = new memory(d, eng), dx = new memory(d, eng);
        memory sc = new memory(pc, eng), sh2 = new memory(pc, eng), mean = new memory(pc, eng), var = new memory(pc, eng), dsc = new memory(pc, eng), dsh = new memory(pc, eng);
        for (memory m : new memory[]{x, y, g, dx}) org.bytedeco.javacpp.Pointer.memset(m.get_data_handle(), 0x3f, d.get_size());
        for (memory m : new memory[]{sc, sh2, mean, var}) org.bytedeco.javacpp.Pointer.memset(m.get_data_handle(), 0x3f, pc.get_size());
        var fp = new batch_normalization_forward(fw); var bp = new batch_normalization_backward(bw);
        IntMemoryMap fa = new IntMemoryMap(); fa.put(dnnl.DNNL_ARG_SRC, x); fa.put(dnnl.DNNL_ARG_DST, y); fa.put(dnnl.DNNL_ARG_SCALE, sc); fa.put(dnnl.DNNL_ARG_SHIFT, sh2); fa.put(dnnl.DNNL_ARG_MEAN, mean); fa.put(dnnl.DNNL_ARG_VARIANCE, var);
        IntMemoryMap ba = new IntMemoryMap(); ba.put(dnnl.DNNL_ARG_SRC, x); ba.put(dnnl.DNNL_ARG_DIFF_DST, g); ba.put(dnnl.DNNL_ARG_SCALE, sc); ba.put(dnnl.DNNL_ARG_SHIFT, sh2); ba.put(dnnl.DNNL_ARG_MEAN, mean); ba.put(dnnl.DNNL_ARG_VARIANCE, var); ba.put(dnnl.DNNL_ARG_DIFF_SRC, dx); ba.put(dnnl.DNNL_ARG_DIFF_SCALE, dsc); ba.put(dnnl.DNNL_ARG_DIFF_SHIFT, dsh);
        double tf = time(() -> { fp.execute(s, fa); s._wait(); });
        double tb = time(() -> { bp.execute(s, ba); s._wait(); });
        String extra = "";
        if (!tag.equals("nchw")) {
          memory p = new memory(new memory.desc(sh, memory.data_type.f32, memory.format_tag.nchw), eng);
          org.bytedeco.javacpp.Pointer.memset(p.get_data_handle(), 0x3f, d.get_size());
          var r = new reorder(p, x);
          double tr = time(() -> { r.execute(s, p, x); s._wait(); });
          extra = String.format(" reorder from nchw %.1f", tr);
        }
        System.out.printf("%s %-8s fwd %.1f ms bwd %.1f ms (%s)%s%n", Arrays.toString(sh), tag, tf, tb, fw.impl_info_str().getString(), extra);
      }
    }
  }
}
