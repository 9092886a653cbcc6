package org.densenet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Npy;
import org.densenet4j.zoo.io.ImageTransform;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet features}: the pooled DenseNet features of images, for a classifier of one's own. */
@Command(name = "features", mixinStandardHelpOptions = true,
        description = "Write the pooled features (the input of fc6, e.g. 1024 values for DenseNet-121) of a folder "
                + "of images as CSV (file name, then the values) or as a float32 .npy [N, features].")
final class FeaturesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--images", required = true, arity = "1..*", description = "Image files or folders of them.")
    List<Path> images;

    @Option(names = "--out", required = true, description = "features.csv or features.npy")
    Path out;

    @Option(names = "--batch", defaultValue = "8", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;


    @Mixin
    ImageModelOptions input;

    @Mixin
    PrecisionOption precision;

    @Override
    public Integer call() throws Exception {
        String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".csv") && !name.endsWith(".npy")) {
            throw new UserError("--out must end in .csv or .npy, was " + out);
        }
        if (batch < 1) {
            throw new UserError("--batch must be at least 1, was " + batch);
        }
        if (Files.exists(out) && !force) {
            throw new UserError(out + ": exists; pass --force to replace it");
        }
        input.check(); // a typo fails before the model loads
        List<Path> files = PredictCommand.imageFiles(images);
        ImageModel loaded = input.load();
        ComputationGraph net = loaded.net();
        String layer = loaded.featureLayer();
        ImageTransform transform = input.transform(loaded, spec.commandLine().getErr());

        UnaryOperator<INDArray> extract = CompiledGraph.inference(net, precision.engineOptions(), layer);
        Progress progress = new Progress(spec.commandLine().getOut(), "features", files.size());
        INDArray features = null;
        for (int from = 0; from < files.size(); from += batch) {
            int to = Math.min(files.size(), from + batch);
            INDArray x = loaded.preprocess(files.subList(from, to), transform);
            INDArray f = extract.apply(x);
            if (f.rank() != 2) {
                throw new UserError(input.model + ": its layer '" + layer + "' gives "
                        + java.util.Arrays.toString(f.shape())
                        + ", not a feature vector per image (a headless model without pooling?)");
            }
            if (features == null) {
                features = Nd4j.create(DataType.FLOAT, files.size(), f.size(1));
            }
            features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(f);
            progress.update(to, "");
        }
        if (name.endsWith(".npy")) {
            Npy.write(features, out);
        } else {
            writeCsv(files, features);
        }
        progress.done(String.format("%d images x %d features from '%s' (%s) written to %s", files.size(),
                features.size(1), layer, precision.effective(), out));
        return 0;
    }

    private void writeCsv(List<Path> files, INDArray features) throws java.io.IOException {
        StringBuilder sb = new StringBuilder("file");
        for (int j = 0; j < features.size(1); j++) {
            sb.append(",f").append(j);
        }
        sb.append('\n');
        for (int i = 0; i < files.size(); i++) {
            sb.append('"').append(files.get(i).toString().replace("\"", "\"\"")).append('"');
            for (float v : features.getRow(i).toFloatVector()) {
                sb.append(',').append(v);
            }
            sb.append('\n');
        }
        org.densenet4j.zoo.io.AtomicFile.writeString(out, sb);
    }
}
