// Starts oauth2-mock-server on 127.0.0.1 (any free port), prints one JSON line with its
// base URL, and serves until stdin closes or the process is killed.
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
await server.start(0, "127.0.0.1");
const port = server.address().port;
// The issuer says "localhost"; the tests talk to the address it really listens on.
server.issuer.url = `http://127.0.0.1:${port}`;
console.log(JSON.stringify({ url: server.issuer.url }));
process.stdin.resume();
process.stdin.on("end", async () => {
  await server.stop();
  process.exit(0);
});
