import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.engine.EngineOptions;
import org.densenet4j.engine.Precision;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * bf16 against fp32 on the compiled engine, measured.
 *
 * <ul>
 *   <li>{@code fmnist [DIR]}: the bundled Fashion-MNIST model on the 10,000 test images (Debian's
 *       dataset-fashion-mnist): accuracy in each precision, top-1 agreement, max |d log p|.</li>
 *   <li>{@code PRESET... }: ImageNet presets (densenet121, densenet169, ...) with random weights
 *       (seeded) and randomised batch norms (gamma U(0.5, 1.5), beta, mean and biases U(-0.5, 0.5),
 *       var U(0.5, 2), seed 1), 16 random 224x224 images in [-1, 1] (seed 7): max relative logit
 *       error (logits = log p less its mean per image, the error relative to their largest
 *       magnitude), max |d log p|, top-1 agreement.</li>
 * </ul>
 *
 * Usage: java -cp CLASSPATH tools/bench/Bf16Accuracy.java fmnist | densenet121 densenet169
 * (CLASSPATH: densenet-examples' jar and target/classpath-nd4j-native-platform.txt, as ./densenet builds them)
 */
public class Bf16Accuracy {
    public static void main(String[] args) throws Exception {
        if (!Precision.bf16Supported()) {
            System.out.println("this CPU has neither AVX512_BF16 nor AMX: bf16 would run fp32");
            return;
        }
        for (String a : args) {
            if (a.equals("fmnist")) {
                fashionMnist(args.length > 1 && !args[1].startsWith("densenet") ? Path.of(args[1])
                        : Path.of(FashionMnist.DEBIAN_DIR));
                return;
            }
            imageNet(DenseNetPreset.fromId(a));
        }
    }

    private static void fashionMnist(Path dir) throws Exception {
        DenseNetPreset preset = DenseNetPreset.FASHION_MNIST;
        ComputationGraph net = DenseNetZooModel.of(preset).initPretrained();
        Path zip = ModelFiles.cachedModel(preset.id(), PretrainedType.MNIST);
        DataNormalization scaling = (DataNormalization) ModelFiles.readNormalizer(zip).orElseThrow();
        DataSet data = FashionMnist.load(dir, false, 0);
        scaling.transform(data.getFeatures());
        INDArray fp32 = run(CompiledGraph.compile(net, EngineOptions.defaults()), data.getFeatures(), 100);
        INDArray bf16 = run(CompiledGraph.compile(net, EngineOptions.defaults().withPrecision(Precision.BF16)),
                data.getFeatures(), 100);
        INDArray truth = data.getLabels().argMax(1);
        INDArray topF = fp32.argMax(1);
        INDArray topB = bf16.argMax(1);
        long n = truth.length();
        long rightF = 0;
        long rightB = 0;
        long agree = 0;
        for (long i = 0; i < n; i++) {
            rightF += topF.getLong(i) == truth.getLong(i) ? 1 : 0;
            rightB += topB.getLong(i) == truth.getLong(i) ? 1 : 0;
            agree += topF.getLong(i) == topB.getLong(i) ? 1 : 0;
        }
        System.out.printf(Locale.ROOT, "%s, %,d test images: accuracy fp32 %.2f%% (%d), bf16 %.2f%% (%d), "
                + "difference %+.2f points; top-1 agreement %d of %d; %s%n", preset.id(), n, 100.0 * rightF / n,
                rightF, 100.0 * rightB / n, rightB, 100.0 * (rightB - rightF) / n, agree, n, errors(fp32, bf16));
    }

    private static void imageNet(DenseNetPreset preset) {
        ComputationGraph net = randomised(DenseNetZooModel.of(preset).init(), 1);
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 3, 224, 224).subi(0.5).muli(2);
        INDArray fp32 = run(CompiledGraph.compile(net, EngineOptions.defaults()), x, 8);
        INDArray bf16 = run(CompiledGraph.compile(net, EngineOptions.defaults().withPrecision(Precision.BF16)), x, 8);
        long agree = 0;
        for (long i = 0; i < x.size(0); i++) {
            agree += fp32.argMax(1).getLong(i) == bf16.argMax(1).getLong(i) ? 1 : 0;
        }
        System.out.printf(Locale.ROOT, "%s (random weights, randomised batch norms), %d images: %s; top-1 agreement "
                + "%d of %d%n", preset.id(), x.size(0), errors(fp32, bf16), agree, x.size(0));
    }

    /** The probabilities of {@code x}, {@code batch} images at a time. */
    private static INDArray run(CompiledGraph c, INDArray x, int batch) {
        INDArray out = null;
        for (long from = 0; from < x.size(0); from += batch) {
            long to = Math.min(x.size(0), from + batch);
            INDArray p = c.outputSingle(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all()));
            if (out == null) {
                out = Nd4j.create(DataType.FLOAT, x.size(0), p.size(1));
            }
            out.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(p);
        }
        return out;
    }

    private static String errors(INDArray fp32, INDArray bf16) {
        INDArray logF = Transforms.log(fp32, true);
        INDArray logB = Transforms.log(bf16, true);
        INDArray zF = logF.subColumnVector(logF.mean(1));
        INDArray zB = logB.subColumnVector(logB.mean(1));
        double scale = zF.amaxNumber().doubleValue();
        return String.format(Locale.ROOT, "max relative logit error %.4f (max |dz| %.4f, logits up to %.2f), "
                + "max |d log p| %.4f", zF.sub(zB).amaxNumber().doubleValue() / scale,
                zF.sub(zB).amaxNumber().doubleValue(), scale, logF.sub(logB).amaxNumber().doubleValue());
    }

    private static ComputationGraph randomised(ComputationGraph net, long seed) {
        Random rnd = new Random(seed);
        for (Layer layer : net.getLayers()) {
            for (var entry : layer.paramTable().entrySet()) {
                INDArray p = entry.getValue();
                double[] range = switch (entry.getKey()) {
                    case "gamma" -> new double[] {0.5, 1.5};
                    case "beta", "mean", "b" -> new double[] {-0.5, 0.5};
                    case "var" -> new double[] {0.5, 2.0};
                    default -> null;
                };
                if (range != null) {
                    for (long i = 0; i < p.length(); i++) {
                        p.putScalar(i, range[0] + (range[1] - range[0]) * rnd.nextDouble());
                    }
                }
            }
        }
        return net;
    }
}
