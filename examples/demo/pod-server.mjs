// A demo "pod": answers every HTTP request with its own name and the client address it saw.
import { createServer } from 'node:http';

const [name, port = '9376'] = process.argv.slice(2);
createServer((req, res) => {
  res.end(`${name} (saw ${req.socket.remoteAddress})\n`);
}).listen(Number(port), '0.0.0.0', () => console.log(`${name} listening on ${port}`));
