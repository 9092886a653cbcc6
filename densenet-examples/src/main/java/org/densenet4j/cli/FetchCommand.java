package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.keras.PretrainedWeights;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.io.Download;
import org.densenet4j.zoo.io.ModelFiles;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet fetch}: download a preset's published weights, check, convert and install them. */
@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = {"Download a preset's published ImageNet weights (keras.applications' or torchvision's), check "
                + "them against the publisher's hash, convert them and install the model zip into the DL4J zoo cache "
                + "(where initPretrained() finds it) or write it to --out.",
                "--list prints the catalog: each file's preset, source, address, hash, transform, classes, the "
                        + "publisher's accuracy with its protocol, and licence; * marks the preset's default.",
                "A mirror: --from URL --sha256 HEX for one file, or -Ddensenet4j.weights.baseUrl / "
                        + "DENSENET_WEIGHTS_URL for all; DENSENET_OFFLINE=1 forbids downloads."})
final class FetchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "densenet121, densenet161, densenet169 or densenet201.")
    String model;

    @Option(names = "--list", description = "Print the catalog of published weights (of --model only, if given) "
            + "and download nothing.")
    boolean list;

    @Option(names = "--source", description = "keras or torchvision (default: torchvision for every preset, whose "
            + "ImageNet accuracy comes with its protocol; keras's _notop files for --no-top).")
    String source;

    @Option(names = "--no-top", description = "The weights without the classifier (keras.applications' _notop files).")
    boolean noTop;

    @Option(names = "--from", description = "Download from this URL (http, https, file) instead; needs --sha256.")
    URI from;

    @Option(names = "--sha256",
            description = "The SHA-256 (or a prefix of at least 8 hex digits) the --from file must have.")
    String sha256;

    @Option(names = "--out", description = "Write the model zip here instead of installing it into the zoo cache.")
    Path out;

    @Option(names = "--force", description = "Replace an existing model zip.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (list) {
            print(spec.commandLine().getOut(), model == null ? null : Models.preset(model));
            return 0;
        }
        if (model == null) {
            throw new UserError("--model is required to fetch (or --list to see the catalog)");
        }
        DenseNetPreset preset = Models.preset(model);
        PretrainedWeights.Source src;
        try {
            src = source == null ? null : PretrainedWeights.Source.fromId(source);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if ((from == null) != (sha256 == null)) {
            throw new UserError("--from and --sha256 go together: a download is only as good as its hash");
        }
        PretrainedWeights weights = PretrainedWeights.of(preset, src, !noTop).orElseThrow(() -> new UserError(
                "no published " + (noTop ? "headless " : "") + "ImageNet weights of " + preset.id()
                        + (src != null ? " from " + src.id() : "") + "; densenet fetch --list shows the catalog"));
        Path target = out != null ? out : ModelFiles.cachedModel(preset.id(), PretrainedType.IMAGENET);
        if (Files.exists(target) && !force) {
            throw new UserError(target + ": exists; pass --force to replace it");
        }
        if (out == null && noTop) {
            throw new UserError("the zoo cache holds models with their classifier; write a headless one with --out");
        }
        long start = System.nanoTime();
        var o = spec.commandLine().getOut();
        ComputationGraph graph;
        if (from != null) {
            DenseNetConfig config = noTop ? preset.config().toBuilder().headless(DenseNetConfig.Pooling.AVG).build()
                    : preset.config();
            Download.Expected expected;
            try {
                expected = new Download.Expected("SHA-256", sha256);
            } catch (IllegalArgumentException e) {
                throw new UserError("--sha256: " + e.getMessage());
            }
            graph = PretrainedWeights.fetch(from, expected, config, null, target, true, Download.Options.defaults(
                    "check the mirror, or download the file yourself and run densenet convert"));
        } else {
            o.println("Fetching " + weights.url() + " (" + weights.expected() + ")");
            try {
                graph = weights.fetch(target, true);
            } catch (IOException e) {
                throw PretrainedAdvice.ofFetch(weights, out != null ? "--out " + out : "--install", e);
            }
        }
        o.printf("Installed %s (%s, %,d parameters) as %s in %.1f s%n", preset.id(),
                from != null ? from : weights.url(), graph.numParams(), target, (System.nanoTime() - start) / 1e9);
        o.println("sha256 " + ModelFiles.sha256(target));
        graph.close();
        return 0;
    }

    /** The catalog, of {@code preset} only when not null: each file with what its publisher states, defaults first. */
    static void print(PrintWriter o, DenseNetPreset preset) {
        o.println("Published ImageNet weights (* the preset's default: what initPretrained() and fetch install):");
        Arrays.stream(PretrainedWeights.values()).filter(w -> preset == null || w.preset() == preset)
                .sorted(Comparator.comparing(PretrainedWeights::preset).thenComparing(w -> !w.isDefault())
                        .thenComparing(PretrainedWeights::source).thenComparing(w -> !w.includeTop()))
                .forEach(w -> {
                    o.printf("%s %-12s %-12s %s%n", w.isDefault() ? "*" : " ", w.preset().id(), w.source().id(),
                            w.fileName() + (w.includeTop() ? "" : " (no classifier: --no-top)"));
                    field(o, "url", w.url().toString());
                    field(o, "hash", w.expected().toString());
                    field(o, "transform", w.transform().describe());
                    field(o, "classes", w.classes().description());
                    field(o, "accuracy", w.publisherAccuracy() + (w.includeTop() ? ""
                            : "; of the model with its classifier"));
                    field(o, "licence", w.licence().describe());
                });
    }

    private static void field(PrintWriter o, String name, String value) {
        o.printf("    %-10s %s%n", name, value);
    }
}
