// The `nginx` image of runtime-process: a small static web server on port 80, so examples that run
// nginx answer HTTP. Serves /usr/share/nginx/html (mount a volume there) or nginx's welcome page.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

const root = '/usr/share/nginx/html';
const welcome = `<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1>
<p>If you see this page, the web server is successfully installed and working.</p>
<p><em>Served by Skiff's runtime-process stand-in for nginx.</em></p></body></html>
`;

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
  let file = join(root, path);
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    statSync(file);
  } catch {
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html', server: 'nginx' });
      return res.end(welcome);
    }
    res.writeHead(404, { 'content-type': 'text/plain', server: 'nginx' });
    return res.end('404 Not Found\n');
  }
  res.writeHead(200, { server: 'nginx' });
  createReadStream(file).pipe(res);
});
server.listen(Number(process.env.NGINX_PORT ?? 80));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGQUIT', () => process.exit(0));
