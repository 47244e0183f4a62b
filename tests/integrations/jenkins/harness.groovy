/*
 * Runs a declarative Jenkinsfile and the shared library's vars/ under plain Groovy, with
 * stand-ins for the Jenkins steps the example uses. `sh` really runs its script (sh -xe, in
 * the workspace, with the build's environment), so gatekeeper runs for real; `junit` really
 * parses the XML (and marks the build UNSTABLE on failing cases, as Jenkins does);
 * `withCredentials` binds what the test hands in. Anything the harness does not know fails
 * the build loudly instead of being skipped.
 *
 *   groovy harness.groovy CONFIG.json
 *
 * CONFIG: {"jenkinsfile": path, "library": path, "workspace": path, "report": path,
 *          "env": {NAME: value}, "credentials": {id: {"kind": "file"|"string", "value": v}}}
 * The report (JSON): result, stages (name -> SUCCESS/FAILURE/UNSTABLE/SKIPPED), steps,
 * junit, errors, inputs, archived.
 */
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration

// The annotations Jenkins pipelines and libraries use, so that they compile here.
@interface Library { String[] value() }
@interface NonCPS {}

class StepFailure extends RuntimeException {
    StepFailure(String message) { super(message) }
}

class Build {
    File workspace
    File library
    Map<String, String> env = [:]
    Map credentials = [:]
    String result = 'SUCCESS'
    Map<String, String> stages = new LinkedHashMap<String, String>()
    List steps = []
    List junit = []
    List errors = []
    List inputs = []
    List archived = []
    Map<String, Script> vars = [:]
    Binding binding

    static final List<String> ORDER = ['SUCCESS', 'UNSTABLE', 'FAILURE']

    void worsen(String to) {
        if (ORDER.indexOf(to) > ORDER.indexOf(result)) {
            result = to
        }
    }
}

/** `env`: read and written like Jenkins' env global; an unset name reads as null. */
class EnvVars extends GroovyObjectSupport {
    Build build

    Object getProperty(String name) { build.env[name] }

    void setProperty(String name, Object value) { build.env[name] = value as String }
}

/** The steps, for the Jenkinsfile and for each vars/ script (their base class). */
abstract class Steps extends Script {
    Build getBuild() { (Build) binding.getVariable('__build') }

    def sh(String script) { sh(script: script) }

    def sh(Map args) {
        Map entry = [step: 'sh', label: args.label, script: args.script]
        build.steps << entry
        ProcessBuilder pb = new ProcessBuilder(['sh', '-xe', '-c', args.script as String])
        pb.directory(build.workspace)
        Map<String, String> penv = pb.environment()
        penv.clear()
        build.env.each { k, v -> if (v != null) { penv.put(k, v) } }
        pb.redirectErrorStream(true)
        Process p = pb.start()
        String out = p.inputStream.getText('UTF-8')
        int code = p.waitFor()
        System.err.print(out)
        entry.status = code
        entry.output = out
        if (args.returnStdout) {
            if (code != 0) { throw new StepFailure("script returned exit code ${code}") }
            return out
        }
        if (args.returnStatus) {
            return code
        }
        if (code != 0) {
            throw new StepFailure("script returned exit code ${code}")
        }
        return null
    }

    def junit(String testResults) { junit(testResults: testResults) }

    def junit(Map args) {
        String pattern = args.testResults as String
        if (pattern ==~ /.*[*?\[{].*/) {
            throw new StepFailure("harness: junit patterns are not supported: ${pattern}")
        }
        Map rec = [testResults: pattern, allowEmptyResults: args.allowEmptyResults ?: false]
        build.junit << rec
        File f = new File(build.workspace, pattern)
        if (!f.isFile()) {
            rec.found = false
            if (!args.allowEmptyResults) {
                throw new StepFailure('No test report files were found. Configuration error?')
            }
            return null
        }
        def xml = new XmlSlurper().parse(f)
        def cases = xml.'**'.findAll { it.name() == 'testcase' }
        rec.found = true
        rec.tests = cases.size()
        rec.failures = cases.count { it.failure.size() > 0 || it.error.size() > 0 }
        rec.skipped = cases.count { it.skipped.size() > 0 }
        if (rec.failures > 0) {
            build.worsen('UNSTABLE')  // what Jenkins' junit step does with failed tests
        }
        return null
    }

    def error(String message) { throw new StepFailure(message) }

    def unstable(String message) {
        build.steps << [step: 'unstable', message: message]
        build.worsen('UNSTABLE')
    }

    def echo(String message) {
        build.steps << [step: 'echo', message: message]
        System.err.println(message)
    }

    def archiveArtifacts(Map args) { build.archived << args.artifacts }

    def fileExists(String path) { new File(build.workspace, path).exists() }

    def file(Map args) { [kind: 'file', id: args.credentialsId, variable: args.variable] }

    def string(Map args) { [kind: 'string', id: args.credentialsId, variable: args.variable] }

    def withCredentials(List bindings, Closure body) {
        Map<String, String> saved = [:]
        bindings.each { b ->
            Map cred = build.credentials[b.id] as Map
            if (cred == null) {
                throw new StepFailure("Could not find credentials entry with ID '${b.id}'")
            }
            if (cred.kind != b.kind) {
                throw new StepFailure("Credentials '${b.id}' is of kind ${cred.kind}, not ${b.kind}")
            }
            saved[b.variable] = build.env[b.variable]
            build.env[b.variable] = cred.value as String
        }
        try {
            return body.call()
        } finally {
            saved.each { k, v -> if (v == null) { build.env.remove(k) } else { build.env[k] = v } }
        }
    }

    /** A global variable of the shared library (vars/NAME.groovy), called like a step. */
    def methodMissing(String name, Object args) {
        File var = new File(build.library, "vars/${name}.groovy")
        if (!var.isFile()) {
            throw new MissingMethodException(name, this.getClass(), args as Object[])
        }
        Script script = build.vars[name]
        if (script == null) {
            script = Harness.parse(var.getText('UTF-8'), var.name, build.binding)
            build.vars[name] = script
        }
        return script.invokeMethod('call', args)
    }

    /** The declarative `pipeline { }` block: read it, then run it. */
    def pipeline(Closure body) {
        PipelineSpec spec = new PipelineSpec()
        Harness.within(body, spec)
        new Runner(build: build, script: this).run(spec)
    }
}

class Harness {
    static ClassLoader loader

    static Script parse(String text, String name, Binding binding) {
        CompilerConfiguration cfg = new CompilerConfiguration()
        cfg.scriptBaseClass = Steps.name
        GroovyShell shell = new GroovyShell(loader, binding, cfg)
        return shell.parse(text, name.replaceAll(/[^A-Za-z0-9_]/, '_'))
    }

    static Object within(Closure body, Object delegate) {
        Closure c = (Closure) body.clone()
        c.delegate = delegate
        c.resolveStrategy = Closure.DELEGATE_FIRST
        return c.call()
    }
}

/** Anything the harness does not implement is a failure, never silently ignored. */
class Strict {
    def methodMissing(String name, Object args) {
        throw new StepFailure("harness: `${name}` is not supported in ${this.getClass().name}")
    }
}

class PipelineSpec extends Strict {
    Object agentSpec
    List<String> options = []
    Closure environment
    List<StageSpec> stages = []
    PostSpec post

    def agent(Object spec) { agentSpec = spec }

    def getAny() { 'any' }

    def getNone() { 'none' }

    def options(Closure body) { Harness.within(body, new OptionsSpec(names: options)) }

    def environment(Closure body) { environment = body }

    def stages(Closure body) { Harness.within(body, new StagesSpec(stages: stages)) }

    def post(Closure body) {
        post = new PostSpec()
        Harness.within(body, post)
    }
}

class OptionsSpec {
    List<String> names
    // Options change nothing here; each is recorded (timeout, disableConcurrentBuilds, ...).
    def methodMissing(String name, Object args) { names << name }
}

class StagesSpec extends Strict {
    List<StageSpec> stages

    def stage(String name, Closure body) {
        StageSpec spec = new StageSpec(name: name)
        Harness.within(body, spec)
        stages << spec
    }
}

class StageSpec extends Strict {
    String name
    Closure steps
    Closure when
    Closure environment
    Map input
    PostSpec post

    def steps(Closure body) { steps = body }

    def when(Closure body) { when = body }

    def environment(Closure body) { environment = body }

    def input(Closure body) {
        InputSpec spec = new InputSpec()
        Harness.within(body, spec)
        input = spec.fields
    }

    def post(Closure body) {
        post = new PostSpec()
        Harness.within(body, post)
    }
}

class InputSpec {
    Map fields = [:]

    def methodMissing(String name, Object args) { fields[name] = (args as Object[])[0] }
}

class PostSpec extends Strict {
    Map<String, Closure> blocks = [:]

    def always(Closure body) { blocks.always = body }

    def success(Closure body) { blocks.success = body }

    def failure(Closure body) { blocks.failure = body }

    def unstable(Closure body) { blocks.unstable = body }

    def cleanup(Closure body) { blocks.cleanup = body }
}

/** `when { }`: every condition must hold (declarative's implicit allOf). */
class WhenSpec extends Strict {
    Build build
    List<Boolean> results = []

    def branch(String pattern) {
        String name = build.env.BRANCH_NAME ?: ''
        String regex = pattern.replace('.', '\\.').replace('*', '.*').replace('?', '.')
        results << (name ==~ regex)
    }

    def changeRequest() { results << (build.env.CHANGE_ID != null) }

    def expression(Closure body) { results << (body.call() as boolean) }

    def not(Closure body) {
        WhenSpec inner = new WhenSpec(build: build)
        Harness.within(body, inner)
        results << !inner.holds()
    }

    boolean holds() { results.every { it } }
}

class EnvSpec extends GroovyObjectSupport {
    Build build
    EnvVars env

    Object getProperty(String name) { name == 'env' ? env : build.env[name] }

    void setProperty(String name, Object value) { build.env[name] = value as String }
}

class Runner {
    Build build
    Steps script

    void run(PipelineSpec spec) {
        if (spec.environment != null) {
            Harness.within(spec.environment, new EnvSpec(build: build, env: script.env))
        }
        boolean failed = false
        for (StageSpec stage in spec.stages) {
            if (failed) {
                build.stages[stage.name] = 'SKIPPED'
                continue
            }
            if (stage.when != null) {
                WhenSpec when = new WhenSpec(build: build)
                Harness.within(stage.when, when)
                if (!when.holds()) {
                    build.stages[stage.name] = 'SKIPPED'
                    continue
                }
            }
            String before = build.result
            String status = 'SUCCESS'
            Map<String, String> saved = new LinkedHashMap<String, String>(build.env)
            try {
                if (stage.environment != null) {
                    Harness.within(stage.environment, new EnvSpec(build: build, env: script.env))
                }
                if (stage.input != null) {
                    build.inputs << stage.input
                }
                if (stage.steps == null) {
                    throw new StepFailure("stage ${stage.name} has no steps")
                }
                Harness.within(stage.steps, script)
            } catch (Throwable e) {
                status = 'FAILURE'
                failed = true
                build.worsen('FAILURE')
                build.errors << [stage: stage.name, type: e.getClass().name, message: e.message]
            } finally {
                build.env.clear()
                build.env.putAll(saved)
            }
            if (status == 'SUCCESS' && build.result != before) {
                status = build.result
            }
            runPost(stage.post, status, stage.name)
            build.stages[stage.name] = status
        }
        runPost(spec.post, build.result, '(pipeline)')
    }

    void runPost(PostSpec post, String status, String where) {
        if (post == null) {
            return
        }
        List<String> which = ['always', status.toLowerCase(), 'cleanup']
        for (String name in which) {
            Closure body = post.blocks[name]
            if (body == null) {
                continue
            }
            try {
                Harness.within(body, script)
            } catch (Throwable e) {
                build.worsen('FAILURE')
                build.errors << [stage: where, post: name, type: e.getClass().name, message: e.message]
            }
        }
    }
}

Map config = (Map) new JsonSlurper().parse(new File(args[0]))
Harness.loader = this.getClass().classLoader
Build build = new Build(
    workspace: new File(config.workspace as String),
    library: new File(config.library as String),
    credentials: (config.credentials ?: [:]) as Map,
)
build.env.putAll((config.env ?: [:]) as Map<String, String>)
Binding binding = new Binding()
binding.setVariable('__build', build)
binding.setVariable('env', new EnvVars(build: build))
build.binding = binding
File jenkinsfile = new File(config.jenkinsfile as String)
try {
    Harness.parse(jenkinsfile.getText('UTF-8'), 'Jenkinsfile', binding).run()
} catch (Throwable e) {
    build.worsen('FAILURE')
    build.errors << [stage: '(script)', type: e.getClass().name, message: e.message]
}
Map report = [
    result: build.result,
    stages: build.stages,
    steps: build.steps,
    junit: build.junit,
    errors: build.errors,
    inputs: build.inputs,
    archived: build.archived,
]
new File(config.report as String).write(JsonOutput.prettyPrint(JsonOutput.toJson(report)), 'UTF-8')
