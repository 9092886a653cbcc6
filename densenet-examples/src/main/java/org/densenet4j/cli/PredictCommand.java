package org.densenet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.io.Npy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet predict}: class probabilities of an NCHW tensor. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Run a model on an NCHW float32 tensor (.npy, fed as it is) and write the class "
                + "probabilities [N, classes] as float32 .npy.")
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true,
            description = "A model zip, or a preset id whose pretrained model is in the zoo cache.")
    String model;

    @Option(names = "--input", required = true, description = "Input tensor [N, C, H, W], float32 or float64 .npy.")
    Path input;

    @Option(names = "--output", required = true, description = "Where to write the probabilities (.npy).")
    Path output;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new UserError("--batch must be at least 1, was " + batch);
        }
        if (Files.exists(output) && !force) {
            throw new UserError(output + ": exists; pass --force to replace it");
        }
        INDArray x = Npy.read(input);
        ComputationGraph net = Models.load(model);
        checkShape(net, x);
        long n = x.size(0);
        INDArray probabilities = null;
        long start = System.nanoTime();
        for (long from = 0; from < n; from += batch) {
            long to = Math.min(n, from + batch);
            INDArray out = net.outputSingle(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all()));
            if (probabilities == null) {
                probabilities = Nd4j.create(out.dataType(), n, out.size(1));
            }
            probabilities.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(out);
        }
        Npy.write(probabilities, output);
        double ms = (System.nanoTime() - start) / 1e6;
        spec.commandLine().getOut().printf("Wrote %s %s (%d images, %.1f ms per image, %s)%n", output,
                Arrays.toString(probabilities.shape()), n, ms / n, Backend.describe());
        return 0;
    }

    /** Channels the graph's first convolution takes, or -1 when it does not start with one. */
    static long inputChannels(ComputationGraph net) {
        var conf = net.getConfiguration();
        String in = conf.getNetworkInputs().get(0);
        for (var e : conf.getVertexInputs().entrySet()) {
            if (e.getValue().contains(in) && conf.getVertices().get(e.getKey()) instanceof LayerVertex lv
                    && lv.getLayerConf().getLayer() instanceof ConvolutionLayer conv) {
                return conv.getNIn();
            }
        }
        return -1;
    }

    /** Fails with one line when the tensor cannot be the graph's input. */
    private void checkShape(ComputationGraph net, INDArray x) {
        long channels = inputChannels(net);
        if (x.rank() != 4 || (channels > 0 && x.size(1) != channels) || x.size(0) == 0) {
            throw new UserError(input + ": shape " + Arrays.toString(x.shape()) + " is not [N, " + (channels > 0 ? channels : "C")
                    + ", H, W] with N >= 1, as the model takes");
        }
    }
}
