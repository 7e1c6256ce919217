/* An application that embeds CPython statically and carries pycurl-rs inside its binary:
 * pycurl._pycurl is registered as a built-in module before the interpreter starts, so
 * `import pycurl` finds the Python package on sys.path and the native part in the binary.
 * The rest behaves like the `python` command (Py_BytesMain): embed -c CODE ARGS... */
#include <Python.h>

PyMODINIT_FUNC PyInit__pycurl(void);

int main(int argc, char **argv) {
    if (PyImport_AppendInittab("pycurl._pycurl", PyInit__pycurl) == -1) {
        fprintf(stderr, "embed: could not register pycurl._pycurl\n");
        return 1;
    }
    return Py_BytesMain(argc, argv);
}
