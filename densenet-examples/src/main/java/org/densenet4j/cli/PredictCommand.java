package org.densenet4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Npy;
import org.densenet4j.preprocess.ImageNetClasses;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet predict}: class probabilities of an NCHW tensor or of image files. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Run a model on an NCHW float32 tensor (.npy, fed as it is) or on image files, and write "
                + "the class probabilities [N, classes] as float32 .npy and/or print the top classes.",
                "Images are made into the model's input as its weights were trained and evaluated (the transform "
                        + "its card records, e.g. torchvision's: shorter side to 256, centre crop 224, ImageNet mean "
                        + "and std); --size stretches them instead, --preprocess changes the normalisation."})
final class PredictCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    static final class Source {
        @Option(names = "--input", required = true, description = "Input tensor [N, C, H, W], float32 or float64 .npy.")
        Path input;

        @Option(names = "--images", required = true, arity = "1..*",
                description = "Image files (JPEG, PNG, BMP, GIF, TIFF) or folders of them.")
        List<Path> images;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--output", description = "Where to write the probabilities (.npy); required with --input.")
    Path output;

    @Option(names = "--top", defaultValue = "3", description = "Classes printed per image (default: ${DEFAULT-VALUE}).")
    int top;

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
        if (batch < 1) {
            throw new UserError("--batch must be at least 1, was " + batch);
        }
        if (source.input != null && output == null) {
            throw new UserError("--input needs --output FILE.npy");
        }
        if (output != null && Files.exists(output) && !force) {
            throw new UserError(output + ": exists; pass --force to replace it");
        }
        input.check(); // a typo fails before the model loads
        ImageModel loaded = input.load();
        ComputationGraph net = loaded.net();
        List<Path> files = source.images == null ? List.of() : imageFiles(source.images);
        INDArray x;
        if (source.input != null) {
            x = Npy.read(source.input);
            checkShape(net, x);
        } else {
            x = loaded.preprocess(files, input.transform(loaded, spec.commandLine().getErr()));
        }
        long n = x.size(0);
        UnaryOperator<INDArray> infer = CompiledGraph.inference(net, precision.engineOptions());
        INDArray probabilities = null;
        long start = System.nanoTime();
        int batches = (int) ((n + batch - 1) / batch);
        Progress progress = batches > 1 ? new Progress(spec.commandLine().getOut(), "predicting", batches) : null;
        for (long from = 0, step = 1; from < n; from += batch, step++) {
            long to = Math.min(n, from + batch);
            INDArray out = infer.apply(x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all(),
                    NDArrayIndex.all(), NDArrayIndex.all()));
            if (probabilities == null) {
                probabilities = Nd4j.create(out.dataType(), n, out.size(1));
            }
            probabilities.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(out);
            if (progress != null) {
                progress.update((int) step, "");
            }
        }
        if (progress != null) {
            progress.done(n + " images");
        }
        double ms = (System.nanoTime() - start) / 1e6;
        var out = spec.commandLine().getOut();
        if (!files.isEmpty()) {
            List<String> labels = loaded.labels(probabilities.size(1));
            var tops = ImageNetClasses.topK(probabilities, top, labels);
            for (int i = 0; i < files.size(); i++) {
                StringBuilder line = new StringBuilder(files.get(i).toString()).append(':');
                int rank = 1;
                for (ImageNetClasses.Prediction p : tops.get(i)) {
                    line.append(String.format("  %d. %s (%.3f)", rank++, p.label(), p.probability()));
                }
                out.println(line);
            }
        }
        if (output != null) {
            Npy.write(probabilities, output);
            out.printf("Wrote %s %s%n", output, Arrays.toString(probabilities.shape()));
        }
        out.printf("%d images, %.1f ms per image, %s, %s%n", n, ms / n, Backend.describe(), precision.effective());
        return 0;
    }

    /** The files named, with folders expanded to the images directly in them (sorted). */
    static List<Path> imageFiles(List<Path> paths) throws java.io.IOException {
        List<Path> files = new java.util.ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (var listing = Files.list(p)) {
                    List<Path> images = listing.filter(f -> Files.isRegularFile(f) && f.getFileName().toString()
                            .toLowerCase(java.util.Locale.ROOT).matches(".*\\.(jpe?g|png|bmp|gif|tiff?)"))
                    .sorted().toList();
                    if (images.isEmpty()) {
                        throw new UserError(p + ": holds no images (.jpg, .png, .bmp, .gif, .tif)");
                    }
                    files.addAll(images);
                }
            } else {
                files.add(p);
            }
        }
        return files;
    }

    /** Fails with one line when the tensor cannot be the graph's input. */
    private void checkShape(ComputationGraph net, INDArray x) {
        long channels = ImageModel.inputChannels(net);
        if (x.rank() != 4 || (channels > 0 && x.size(1) != channels) || x.size(0) == 0) {
            throw new UserError(source.input + ": shape " + Arrays.toString(x.shape()) + " is not [N, " + (channels > 0
                    ? channels : "C")
                    + ", H, W] with N >= 1, as the model takes");
        }
    }
}
